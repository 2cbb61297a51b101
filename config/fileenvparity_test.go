package config

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// parityCase is a key given once in a file (prop, in .properties form)
// and once as a variable (env), with the same value.
type parityCase struct {
	prop, env, val string
	// msgDiffers: the outcome (a warning, an error, nothing) is the same
	// but the text is not (an unknown key: a file's lists the known keys,
	// a variable's says how variables spell them).
	msgDiffers bool
	// differs, when set, says why the variable is knowingly not read as
	// the file's key is: the test then asserts that difference, so that
	// a change to either side shows here (and the case is moved up).
	differs string
}

// parityOutcome is what Load said of the key: "warn: msg", "error: msg",
// one a line, sorted, each checked to be at the key's origin; and the
// configuration, when it loaded.
func parityOutcome(t *testing.T, opts Options, origin string, withMsg bool) (string, *stream.Config) {
	t.Helper()
	opts.Logger = discard
	l, err := Load(opts)
	var es stream.ConfigErrors
	if err != nil && !errors.As(err, &es) {
		t.Fatalf("Load: %v", err)
	}
	var out []string
	add := func(kind string, e *stream.ConfigError) {
		if e.Origin != origin {
			t.Errorf("%s %s at %q, want it at %q (%s)", kind, e.Path, e.Origin, origin, e.Msg)
		}
		if withMsg {
			out = append(out, kind+": "+e.Msg)
		} else {
			out = append(out, kind)
		}
	}
	if l != nil {
		for _, w := range l.Warnings {
			add("warn", w)
		}
	}
	for _, e := range es {
		add("error", e)
	}
	sort.Strings(out)
	if err != nil {
		return strings.Join(out, "\n"), nil
	}
	return strings.Join(out, "\n"), l.Stream
}

// TestFileAndEnvironmentAgree feeds each key both ways: in a file, and as
// the variable that spells it (STREAM_*, SPRING_CLOUD_STREAM_*,
// SPRING_CLOUD_*, Spring Boot's), and asserts the same outcome: the same
// warning or error (at the file's line, or naming the variable: origin
// "env NAME"), or none; and the same again on the command line and in
// SPRING_APPLICATION_JSON. SCSt's obsolete keys warned in a file and were
// ignored without a word as variables (SPRING_CLOUD_STREAM_METRICS_KEY);
// function.autodetect and function.batch-mode, and SCSt's binding keys
// (consumer.multiplex, producer.partitioned), warned in a file and were
// refused as variables; spring.cloud.function.* and spring.cloud.schema*
// warned in a file and were ignored as variables, and
// SPRING_CLOUD_FUNCTION_ROUTINGEXPRESSION was not read at all; Spring
// Boot's spring.kafka and spring.rabbitmq keys besides the connection's
// were ignored as variables, where a file's is read
// (spring.kafka.consumer.max-poll-records), warned of or refused. The
// obsolete keys and SCSt's binding keys are taken from the loader's own
// tables, so that a key added to them is checked both ways too.
func TestFileAndEnvironmentAgree(t *testing.T) {
	var cases []parityCase
	envSpelling := func(segs []string) string { return strings.ToUpper(strings.Join(segs, "_")) }
	for _, o := range obsoleteKeys {
		for _, prefix := range []string{"SPRING_CLOUD_STREAM_", "STREAM_"} {
			cases = append(cases, parityCase{prop: "spring.cloud.stream." + strings.Join(o.path, "."), env: prefix + envSpelling(o.path), val: "true"})
		}
		// A key below an obsolete one goes with it (not below one of a
		// binder's section, whose keys are free-form: KAFKA_BINDER_ZKNODES_X
		// is one key, zknodes-x, as Spring Boot binds it into SCSt's map).
		if o.path[0] == "kafka" {
			continue
		}
		cases = append(cases, parityCase{prop: "spring.cloud.stream." + strings.Join(o.path, ".") + ".some-key", env: "SPRING_CLOUD_STREAM_" + envSpelling(o.path) + "_SOME_KEY", val: "x"})
	}
	for _, k := range append(append([]scstBindingKey(nil), scstOnlyBindingKeys...), scstBindingKey{kind: "producer", key: "partitioned"}) {
		for _, sec := range [][]string{{"default"}, {"bindings", "orders-in-0"}} {
			segs := append(append([]string(nil), sec...), k.kind, k.key)
			for _, val := range []string{"true", "false", "x"} {
				cases = append(cases, parityCase{prop: "spring.cloud.stream." + strings.Join(segs, "."), env: "SPRING_CLOUD_STREAM_" + envSpelling(envTokens(strings.Join(segs, "."))), val: val})
			}
		}
	}
	cases = append(cases, []parityCase{
		// The spellings with a '_' where the key has a '-'.
		{prop: "spring.cloud.stream.function.batch-mode", env: "SPRING_CLOUD_STREAM_FUNCTION_BATCH_MODE", val: "true"},
		{prop: "spring.cloud.stream.function.autodetect", env: "STREAM_FUNCTION_AUTODETECT", val: "false"},
		{prop: "spring.cloud.stream.override-cloud-connectors", env: "SPRING_CLOUD_STREAM_OVERRIDE_CLOUD_CONNECTORS", val: "true"},
		{prop: "spring.cloud.stream.binding-retry-interval", env: "SPRING_CLOUD_STREAM_BINDING_RETRY_INTERVAL", val: "30"},
		{prop: "spring.cloud.stream.metrics.key", env: "SPRING_CLOUD_STREAM_METRICS_KEY", val: "x"},
		{prop: "spring.cloud.stream.kafka.binder.zk-nodes", env: "SPRING_CLOUD_STREAM_KAFKA_BINDER_ZK_NODES", val: "z"},
		{prop: "spring.cloud.stream.bindings.orders-in-0.consumer.retry-template-name", env: "SPRING_CLOUD_STREAM_BINDINGS_ORDERS_IN_0_CONSUMER_RETRY_TEMPLATE_NAME", val: "x"},
		{prop: "spring.cloud.stream.kafka.binder.enable-observation", env: "SPRING_CLOUD_STREAM_KAFKA_BINDER_ENABLEOBSERVATION", val: "true"},
		{prop: "spring.cloud.stream.kafka.binder.enable-observation", env: "STREAM_KAFKA_BINDER_ENABLE_OBSERVATION", val: "false"},
		{prop: "spring.cloud.stream.kafka.streams.binder.brokers", env: "SPRING_CLOUD_STREAM_KAFKA_STREAMS_BINDER_BROKERS", val: "x"},
		{prop: "spring.cloud.stream.bindings.orders-in-0.group", env: "SPRING_CLOUD_STREAM_BINDINGS_ORDERS_IN_0_GROUP", val: "g"},
		{prop: "spring.cloud.stream.instance-count", env: "STREAM_INSTANCE_COUNT", val: "x"},
		{prop: "spring.cloud.stream.bindings.orders-in-0.consumer.foo-bar", env: "SPRING_CLOUD_STREAM_BINDINGS_ORDERS_IN_0_CONSUMER_FOO_BAR", val: "x", msgDiffers: true},
		// Spring Cloud's keys besides the stream section.
		{prop: "spring.cloud.function.routing-expression", env: "SPRING_CLOUD_FUNCTION_ROUTINGEXPRESSION", val: "'a'"},
		{prop: "spring.cloud.function.routing-expression", env: "SPRING_CLOUD_FUNCTION_ROUTING_EXPRESSION", val: "'a'"},
		{prop: "spring.cloud.function.definiton", env: "SPRING_CLOUD_FUNCTION_DEFINITON", val: "x"},
		{prop: "spring.cloud.function.scan.packages", env: "SPRING_CLOUD_FUNCTION_SCAN_PACKAGES", val: "x"},
		{prop: "spring.cloud.function.ineligibledefinitions", env: "SPRING_CLOUD_FUNCTION_INELIGIBLEDEFINITIONS", val: "x"},
		{prop: "spring.cloud.schema.avro.schema-locations", env: "SPRING_CLOUD_SCHEMA_AVRO_SCHEMALOCATIONS", val: "x"},
		{prop: "spring.cloud.schemaregistryclient.endpoint", env: "SPRING_CLOUD_SCHEMAREGISTRYCLIENT_ENDPOINT", val: "x"},
		{prop: "spring.cloud.strem.x", env: "SPRING_CLOUD_STREM_X", val: "x"},
		{prop: "spring.cloud.config.uri", env: "SPRING_CLOUD_CONFIG_URI", val: "x"},
		// Spring Boot's.
		{prop: "logging.file.name", env: "LOGGING_FILE_NAME", val: "x"},
		{prop: "spring.rabbitmq.host", env: "SPRING_RABBITMQ_HOST", val: "h"},
		{prop: "spring.application.name", env: "SPRING_APPLICATION_NAME", val: "x"},
		{prop: "spring.kafka.consumer.group-id", env: "SPRING_KAFKA_CONSUMER_GROUPID", val: "x"},
		{prop: "spring.kafka.consumer.group-id", env: "SPRING_KAFKA_CONSUMER_GROUP_ID", val: "x"},
		{prop: "spring.kafka.consumer.max-poll-records", env: "SPRING_KAFKA_CONSUMER_MAX_POLL_RECORDS", val: "5"},
		{prop: "spring.kafka.consumer.fetch-min-size", env: "SPRING_KAFKA_CONSUMER_FETCHMINSIZE", val: "10x"},
		{prop: "spring.kafka.consumer.transaction-id-prefix", env: "SPRING_KAFKA_CONSUMER_TRANSACTION_ID_PREFIX", val: "t"},
		{prop: "spring.kafka.consumer.foo", env: "SPRING_KAFKA_CONSUMER_FOO", val: "x"},
		{prop: "spring.kafka.producer.acks", env: "SPRING_KAFKA_PRODUCER_ACKS", val: "all"},
		{prop: "spring.kafka.ssl.trust-store-location", env: "SPRING_KAFKA_SSL_TRUST_STORE_LOCATION", val: "classpath:ca.pem"},
		{prop: "spring.kafka.ssl.key-store-key", env: "SPRING_KAFKA_SSL_KEY_STORE_KEY", val: "k"},
		{prop: "spring.kafka.listener.ack-mode", env: "SPRING_KAFKA_LISTENER_ACK_MODE", val: "manual"},
		{prop: "spring.kafka.template.default-topic", env: "SPRING_KAFKA_TEMPLATE_DEFAULTTOPIC", val: "t"},
		{prop: "spring.kafka.jaas.enabled", env: "SPRING_KAFKA_JAAS_ENABLED", val: "true"},
		{prop: "spring.kafka.jaas.enabled", env: "SPRING_KAFKA_JAAS_ENABLED", val: "false"},
		{prop: "spring.kafka.security.foo", env: "SPRING_KAFKA_SECURITY_FOO", val: "x"},
		{prop: "spring.kafka.foo", env: "SPRING_KAFKA_FOO", val: "x"},
		{prop: "spring.kafka.consumer", env: "SPRING_KAFKA_CONSUMER", val: "x"},
		{prop: "spring.kafka.consumer.properties.max.poll.records", env: "SPRING_KAFKA_CONSUMER_PROPERTIES_MAX_POLL_RECORDS", val: "5"},
		{prop: "spring.rabbitmq.listener.simple.prefetch", env: "SPRING_RABBITMQ_LISTENER_SIMPLE_PREFETCH", val: "5"},
		{prop: "spring.rabbitmq.publisher-confirm-type", env: "SPRING_RABBITMQ_PUBLISHER_CONFIRM_TYPE", val: "correlated"},
		{prop: "spring.rabbitmq.ssl.key-store", env: "SPRING_RABBITMQ_SSL_KEY_STORE", val: "k"},
		{prop: "spring.rabbitmq.ssl.verify-hostname", env: "SPRING_RABBITMQ_SSL_VERIFYHOSTNAME", val: "false"},
		{prop: "spring.rabbitmq.ssl.enabled", env: "SPRING_RABBITMQ_SSL_ENABLED", val: "true"},
		{prop: "spring.rabbitmq.port", env: "SPRING_RABBITMQ_PORT", val: "5673"},
		// Known differences.
		{prop: "spring.cloud.stream.foo-bar", env: "SPRING_CLOUD_STREAM_FOO_BAR", val: "x",
			differs: "a variable that no typo makes a key's is the operator's own (TestEnvMisspeltTopLevelStreamKey: SPRING_CLOUD_STREAM_SENDTO_DESTINATION); a file's unknown key is an error"},
	}...)

	const base = "stream.default-binder=memory\n"
	seen := map[string]bool{}
	for _, c := range cases {
		id := c.env + "=" + c.val
		if seen[id] {
			continue
		}
		seen[id] = true
		t.Run(id, func(t *testing.T) {
			file, fileCfg := parityOutcome(t, Options{Name: "application.properties", Data: []byte(base + c.prop + "=" + c.val + "\n"), Env: []string{}}, "application.properties:2", !c.msgDiffers)
			env, envCfg := parityOutcome(t, Options{Name: "application.properties", Data: []byte(base), Env: []string{c.env + "=" + c.val}}, "env "+c.env, !c.msgDiffers)
			// The command line and SPRING_APPLICATION_JSON, which name the
			// key as a file does: as the file, whatever the variable does.
			args, _ := parityOutcome(t, Options{Name: "application.properties", Data: []byte(base), Args: []string{"--" + c.prop + "=" + c.val}, Env: []string{}}, "command line", !c.msgDiffers)
			js, _ := parityOutcome(t, Options{Name: "application.properties", Data: []byte(base), Env: []string{EnvApplicationJSON + `={"` + c.prop + `":"` + c.val + `"}`}}, "env "+EnvApplicationJSON, !c.msgDiffers)
			if args != file || js != file {
				t.Errorf("the file's key %s and the same key on the command line or in %s disagree:\nfile: %s\nargs: %s\njson: %s", c.prop, EnvApplicationJSON, orNothing(file), orNothing(args), orNothing(js))
			}
			switch {
			case c.differs != "":
				if file == "" || env != "" {
					t.Errorf("known difference (%s) changed: the file's key %s gives %q, the variable %q; if they agree now, make it an ordinary case", c.differs, c.prop, file, env)
				}
			case file != env:
				t.Errorf("the file's key %s and the variable %s disagree:\nfile: %s\nenv:  %s", c.prop, c.env, orNothing(file), orNothing(env))
			case fileCfg != nil && envCfg != nil:
				// What a key read sets (spring.kafka.consumer.max-poll-records
				// in the Kafka binder's consumer properties), the same.
				if f, e := withoutOrigins(fileCfg), withoutOrigins(envCfg); !reflect.DeepEqual(f, e) {
					t.Errorf("the file's key %s and the variable %s load different configurations:\nfile: %+v\nenv:  %+v", c.prop, c.env, f, e)
				}
			}
		})
	}
}

func orNothing(s string) string {
	if s == "" {
		return "(nothing)"
	}
	return s
}

// TestRoutingExpressionVariableIsRead: SPRING_CLOUD_FUNCTION_ROUTINGEXPRESSION
// (or ..._ROUTING_EXPRESSION) sets the routing expression, as the file's
// spring.cloud.function.routing-expression does; it was ignored without
// a word.
func TestRoutingExpressionVariableIsRead(t *testing.T) {
	const expr = "headers['type']"
	file := mustLoad(t, Options{Name: "application.properties", Logger: discard, Data: []byte("spring.cloud.function.routing-expression=" + expr + "\n")})
	want := file.Stream.Function.RoutingExpression
	if want != expr {
		t.Fatalf("the file's routing expression read as %q", want)
	}
	for _, name := range []string{"SPRING_CLOUD_FUNCTION_ROUTINGEXPRESSION", "SPRING_CLOUD_FUNCTION_ROUTING_EXPRESSION"} {
		l := mustLoad(t, Options{Logger: discard, Data: []byte("stream:\n  default-binder: memory\n"), Env: []string{name + "=" + expr}})
		if got := l.Stream.Function.RoutingExpression; got != want {
			t.Errorf("%s: routing expression %q, want %q", name, got, want)
		}
		if o := l.Stream.Origins["stream.function.routing-expression"]; o != "env "+name {
			t.Errorf("%s: origin %q", name, o)
		}
	}
	// Over the file's, as a variable is.
	l := mustLoad(t, Options{Name: "application.properties", Logger: discard, Data: []byte("spring.cloud.function.routing-expression=x\n"), Env: []string{"SPRING_CLOUD_FUNCTION_ROUTINGEXPRESSION=" + expr}})
	if got := l.Stream.Function.RoutingExpression; got != expr {
		t.Errorf("the variable over the file's key: %q, want %q", got, expr)
	}
}

// The variables Kubernetes sets for a service named spring-kafka or
// spring-rabbitmq are not keys of spring.kafka or spring.rabbitmq: no
// warning, no error, nothing read (bootSectionEnvVar).
func TestBootSectionVariablesSkipKubernetesLinks(t *testing.T) {
	l := mustLoad(t, Options{Logger: discard, Data: []byte("stream:\n  default-binder: memory\n"), Env: []string{
		"SPRING_KAFKA_SERVICE_HOST=10.0.0.1", "SPRING_KAFKA_SERVICE_PORT=9092", "SPRING_KAFKA_PORT=tcp://10.0.0.1:9092",
		"SPRING_KAFKA_PORT_9092_TCP_ADDR=10.0.0.1", "SPRING_RABBITMQ_SERVICE_PORT_AMQP=5672", "SPRING_RABBITMQ_PORT_5672_TCP=tcp://10.0.0.2:5672",
	}})
	if len(l.Warnings) != 0 || len(l.Stream.ConnectionDefaults) != 0 {
		t.Errorf("warnings %v, connection defaults %v; want none", l.Warnings, l.Stream.ConnectionDefaults)
	}
}
