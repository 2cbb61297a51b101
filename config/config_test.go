package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// The CONVENTIONS.md example, kebab-case.
const kebabYAML = `stream:
  function:
    definition: placeOrder;reserveStock;chargePayment;prepareShipment
  default-binder: memory
  binders:
    local-kafka:
      type: kafka
      environment: { brokers: "${KAFKA_BROKERS:localhost:9092}", sasl-mechanism: plain }
  default:
    content-type: application/json
    consumer: { max-attempts: 3 }
  bindings:
    placeOrder-out-0:
      destination: orders
      producer: { partition-key-expression: payload.customerId, partition-count: 3, required-groups: [payment, shipping], auto-startup: false }
    chargePayment-in-0:
      destination: orders
      group: payment
      consumer: { concurrency: 4, max-attempts: 3, back-off-initial-interval: 100ms, back-off-multiplier: 1.5, dlq: true }
  dynamic-destinations: a, b
  shutdown-timeout: 5s
  kafka:
    binder: { required-acks: all, auto-create-topics: true }
    bindings: { chargePayment-in-0: { consumer: { start-offset: earliest } } }
  rabbit:
    default: { producer: { delivery-mode: persistent } }
    bindings: { chargePayment-in-0: { consumer: { prefetch: 64 } } }
management:
  port: 8081
`

// The same, camelCase.
const camelYAML = `stream:
  function:
    definition: placeOrder;reserveStock;chargePayment;prepareShipment
  defaultBinder: memory
  binders:
    local-kafka:
      type: kafka
      environment: { brokers: "${KAFKA_BROKERS:localhost:9092}", saslMechanism: plain }
  default:
    contentType: application/json
    consumer: { maxAttempts: 3 }
  bindings:
    placeOrder-out-0:
      destination: orders
      producer: { partitionKeyExpression: payload.customerId, partitionCount: 3, requiredGroups: [payment, shipping], autoStartup: false }
    chargePayment-in-0:
      destination: orders
      group: payment
      consumer: { concurrency: 4, maxAttempts: 3, backOffInitialInterval: 100ms, backOffMultiplier: 1.5, dlq: true }
  dynamicDestinations: a, b
  shutdownTimeout: 5s
  kafka:
    binder: { requiredAcks: all, autoCreateTopics: true }
    bindings: { chargePayment-in-0: { consumer: { startOffset: earliest } } }
  rabbit:
    default: { producer: { deliveryMode: persistent } }
    bindings: { chargePayment-in-0: { consumer: { prefetch: 64 } } }
management:
  port: 8081
`

// The same as an SCSt application.yaml (spring.cloud.stream, SCSt's
// enable-dlq, dotted keys).
const scstYAML = `spring:
  application:
    name: shop
  cloud:
    function:
      definition: placeOrder;reserveStock;chargePayment;prepareShipment
    stream:
      defaultBinder: memory
      binders:
        local-kafka:
          type: kafka
          environment:
            brokers: "${KAFKA_BROKERS:localhost:9092}"
            sasl-mechanism: plain
      default:
        content-type: application/json
        consumer.max-attempts: 3
      bindings:
        placeOrder-out-0:
          destination: orders
          producer:
            partition-key-expression: payload.customerId
            partition-count: 3
            required-groups: payment,shipping
            auto-startup: "false"
        chargePayment-in-0:
          destination: orders
          group: payment
          consumer:
            concurrency: 4
            max-attempts: 3
            back-off-initial-interval: 100
            back-off-multiplier: 1.5
            enable-dlq: true
      dynamic-destinations: [a, b]
      shutdown-timeout: 5000
      kafka:
        binder: { required-acks: all, auto-create-topics: true }
        bindings: { chargePayment-in-0: { consumer: { start-offset: earliest } } }
      rabbit:
        default: { producer: { delivery-mode: persistent } }
        bindings: { chargePayment-in-0: { consumer: { prefetch: 64 } } }
management.port: 8081
`

// writeFiles writes name → content into a new temporary directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mustLoad loads and fails the test on error.
func mustLoad(t *testing.T, opts Options) *Loaded {
	t.Helper()
	if opts.Env == nil {
		opts.Env = []string{}
	}
	l, err := Load(opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return l
}

// configErrors loads and returns the problems (failing if there are none).
func configErrors(t *testing.T, opts Options) stream.ConfigErrors {
	t.Helper()
	if opts.Env == nil {
		opts.Env = []string{}
	}
	_, err := Load(opts)
	if err == nil {
		t.Fatal("Load: no error")
	}
	var es stream.ConfigErrors
	if !errors.As(err, &es) {
		t.Fatalf("Load: error %T is not stream.ConfigErrors: %v", err, err)
	}
	return es
}

// withoutOrigins returns a copy of c with no Origins, for comparison.
func withoutOrigins(c *stream.Config) stream.Config {
	cp := *c
	cp.Origins, cp.Keys = nil, nil // where and how the keys were written
	return cp
}

func TestLoadSpellingsAreEquivalent(t *testing.T) {
	want := mustLoad(t, Options{Data: []byte(kebabYAML)})
	c := want.Stream

	// Spot checks of the kebab-case file itself.
	b := c.Binding("chargePayment-in-0")
	if b.Destination != "orders" || b.Group != "payment" || b.Consumer.Concurrency != 4 ||
		b.Consumer.BackOffInitialInterval != 100*time.Millisecond || b.Consumer.BackOffMultiplier != 1.5 ||
		!b.Consumer.DLQ || b.Binder != "memory" || b.ContentType != "application/json" {
		t.Errorf("chargePayment-in-0 = %+v", b)
	}
	p := c.Binding("placeOrder-out-0").Producer
	if p.PartitionCount != 3 || p.PartitionKeyExpression != "payload.customerId" ||
		!reflect.DeepEqual(p.RequiredGroups, []string{"payment", "shipping"}) || p.AutoStart() {
		t.Errorf("placeOrder-out-0 producer = %+v", p)
	}
	if c.Function.Definition != "placeOrder;reserveStock;chargePayment;prepareShipment" {
		t.Errorf("definition = %q", c.Function.Definition)
	}
	if got := c.Binders["local-kafka"]; got.Type != "kafka" || got.Environment["brokers"] != "localhost:9092" {
		t.Errorf("binder local-kafka = %+v", got)
	}
	if !reflect.DeepEqual(c.DynamicDestinations, []string{"a", "b"}) || c.ShutdownTimeout != 5*time.Second {
		t.Errorf("dynamic-destinations = %q, shutdown-timeout = %s", c.DynamicDestinations, c.ShutdownTimeout)
	}
	kc, _ := c.Extension("kafka", "chargepayment-in-0")
	if kc["start-offset"] != "earliest" || c.Extensions["kafka"].Binder["required-acks"] != "all" {
		t.Errorf("kafka extension = %+v", c.Extensions["kafka"])
	}
	if _, rp := c.Extension("rabbit", "x"); rp["delivery-mode"] != "persistent" {
		t.Errorf("rabbit default producer = %v", rp)
	}
	if got := c.Origins["stream.bindings.chargepayment-in-0.group"]; got != "application.yaml:18" {
		t.Errorf("origin of group = %q", got)
	}
	if m, _ := want.Raw["management"].(map[string]any); m["port"] != 8081 {
		t.Errorf("Raw management = %v", want.Raw["management"])
	}

	for _, tc := range []struct{ name, yaml string }{
		{"camelCase", camelYAML},
		{"spring.cloud.stream", scstYAML},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustLoad(t, Options{Data: []byte(tc.yaml)})
			if g, w := withoutOrigins(got.Stream), withoutOrigins(want.Stream); !reflect.DeepEqual(g, w) {
				t.Errorf("config differs from the kebab-case one:\n got %+v\nwant %+v", g, w)
			}
			if m, _ := got.Raw["management"].(map[string]any); m["port"] != 8081 {
				t.Errorf("Raw management = %v", got.Raw["management"])
			}
		})
	}
}

func TestLoadFiles(t *testing.T) {
	t.Run("missing default file is an empty config", func(t *testing.T) {
		l := mustLoad(t, Options{Dir: t.TempDir()})
		if len(l.Files) != 0 || len(l.Stream.Bindings) != 0 || l.Stream.Binding("x-in-0").Destination != "x-in-0" {
			t.Errorf("got %+v", l)
		}
	})
	t.Run("application.yml is accepted", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"application.yml": "stream: {default-binder: rabbit}\n"})
		if l := mustLoad(t, Options{Dir: dir}); l.Stream.DefaultBinder != "rabbit" {
			t.Errorf("default-binder = %q", l.Stream.DefaultBinder)
		}
	})
	t.Run("explicit file", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"app.yaml": "stream: {default-binder: kafka}\n"})
		l := mustLoad(t, Options{Dir: dir, File: "app.yaml"})
		if l.Stream.DefaultBinder != "kafka" || l.Stream.Origins["stream.default-binder"] != "app.yaml:1" {
			t.Errorf("got %q from %q", l.Stream.DefaultBinder, l.Stream.Origins["stream.default-binder"])
		}
	})
	t.Run("empty file", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"application.yaml": "# nothing yet\n"})
		if l := mustLoad(t, Options{Dir: dir}); len(l.Files) != 1 || l.Stream.Bindings != nil {
			t.Errorf("got %+v", l)
		}
	})
}

func TestProfiles(t *testing.T) {
	files := map[string]string{
		"application.yaml": `stream:
  default-binder: memory
  bindings:
    x-in-0: { destination: orders, group: g, consumer: { max-attempts: 2 } }
`,
		"application-kafka.yaml": `stream:
  default-binder: kafka
  bindings:
    x-in-0: { consumer: { maxAttempts: 5 } }
    y-out-0: { destination: out }
`,
		"application-prod.yml": `stream:
  bindings:
    x-in-0: { group: prod }
`,
	}
	dir := writeFiles(t, files)
	type want struct {
		binder, group string
		attempts      int
		profiles      []string
		attemptsFrom  string
	}
	for _, tc := range []struct {
		name string
		opts Options
		want want
	}{
		{"none", Options{}, want{"memory", "g", 2, nil, "application.yaml:4"}},
		{"option", Options{Profiles: []string{"kafka"}}, want{"kafka", "g", 5, []string{"kafka"}, "application-kafka.yaml:4"}},
		{"two in order, .yml", Options{Profiles: []string{"kafka", "prod"}}, want{"kafka", "prod", 5, []string{"kafka", "prod"}, "application-kafka.yaml:4"}},
		{"STREAM_PROFILES_ACTIVE", Options{Env: []string{"STREAM_PROFILES_ACTIVE= kafka , prod"}}, want{"kafka", "prod", 5, []string{"kafka", "prod"}, "application-kafka.yaml:4"}},
		{"SPRING_PROFILES_ACTIVE", Options{Env: []string{"SPRING_PROFILES_ACTIVE=prod"}}, want{"memory", "prod", 2, []string{"prod"}, "application.yaml:4"}},
		{"STREAM_ wins over SPRING_", Options{Env: []string{"SPRING_PROFILES_ACTIVE=prod", "STREAM_PROFILES_ACTIVE=kafka"}}, want{"kafka", "g", 5, []string{"kafka"}, "application-kafka.yaml:4"}},
		{"empty option ignores env", Options{Profiles: []string{}, Env: []string{"STREAM_PROFILES_ACTIVE=kafka"}}, want{"memory", "g", 2, nil, "application.yaml:4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Dir = dir
			l := mustLoad(t, tc.opts)
			b := l.Stream.Binding("x-in-0")
			got := want{l.Stream.DefaultBinder, b.Group, b.Consumer.MaxAttempts, l.Profiles,
				l.Stream.Origins["stream.bindings.x-in-0.consumer.max-attempts"]}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if b.Destination != "orders" {
				t.Errorf("destination from the base file lost: %q", b.Destination)
			}
		})
	}

	// As in Spring Boot, a profile may set nothing: a warning, naming it.
	t.Run("missing profile file", func(t *testing.T) {
		l := mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_PROFILES_ACTIVE=kafka,staging"}, Logger: slog.New(slog.DiscardHandler)})
		if !reflect.DeepEqual(l.Profiles, []string{"kafka", "staging"}) {
			t.Errorf("profiles %q", l.Profiles)
		}
		if len(l.Warnings) != 1 || l.Warnings[0].Origin != "env SPRING_PROFILES_ACTIVE" ||
			l.Warnings[0].Msg != `profile "staging" is active but matches no configuration: no profile file (looked for application-staging.yaml, application-staging.yml, application-staging.properties) and no document with spring.config.activate.on-profile (or spring.profiles) matching it (profiles with a file or document: kafka, prod)` {
			t.Errorf("warnings %v", l.Warnings)
		}
	})
	// RequireProfileFiles: a program whose profiles choose its broker
	// refuses a profile with no file.
	t.Run("missing profile file required", func(t *testing.T) {
		_, err := Load(Options{Dir: dir, Profiles: []string{"kafka", "staging"}, Env: []string{}, RequireProfileFiles: true, Logger: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.Contains(err.Error(), `profile "staging" is active but its file is missing`) || !strings.Contains(err.Error(), "application-staging.yaml") {
			t.Errorf("got %v", err)
		}
		if _, err := Load(Options{Dir: dir, Profiles: []string{"kafka"}, Env: []string{}, RequireProfileFiles: true, Logger: slog.New(slog.DiscardHandler)}); err != nil {
			t.Errorf("a profile with its file: %v", err)
		}
	})
	// A malformed condition is one error, its profile not "missing" too.
	t.Run("malformed condition", func(t *testing.T) {
		d := writeFiles(t, map[string]string{"application.yaml": "a: 1\n---\nspring.config.activate.on-profile: \"(prod\"\nb: 2\n"})
		l, err := Load(Options{Dir: d, Profiles: []string{"prod"}, Env: []string{}, Logger: slog.New(slog.DiscardHandler)})
		var es stream.ConfigErrors
		if !errors.As(err, &es) || len(es) != 1 || len(l.Warnings) != 0 {
			t.Errorf("got %v; warnings %v", err, l.Warnings)
		}
	})
	t.Run("profile name with a path", func(t *testing.T) {
		es := configErrors(t, Options{Dir: dir, Env: []string{"STREAM_PROFILES_ACTIVE=../etc"}})
		if len(es) != 1 || es[0].Origin != "env STREAM_PROFILES_ACTIVE" {
			t.Errorf("got %v", es)
		}
	})
}

func TestEnvOverrides(t *testing.T) {
	const base = `stream:
  function: { definition: chargePayment;my_fn }
  default-binder: memory
  binders:
    local-kafka: { type: kafka, environment: { brokers: "k:9092", sasl: { mechanism: plain } } }
  bindings:
    chargePayment-in-0: { destination: orders, group: payment }
    snake_case-in-0: { destination: s }
  kafka:
    bindings: { chargePayment-in-0: { consumer: { start-offset: earliest } } }
`
	for _, tc := range []struct {
		name  string
		env   []string
		check func(c *stream.Config) any // returns the value to compare
		want  any
		path  string // key path whose origin must be "env <the first variable>"
	}{
		{"default binder", []string{"STREAM_DEFAULT_BINDER=rabbit"},
			func(c *stream.Config) any { return c.DefaultBinder }, "rabbit", "stream.default-binder"},
		{"binding group", []string{"STREAM_BINDINGS_CHARGEPAYMENT_IN_0_GROUP=billing"},
			func(c *stream.Config) any { return c.Binding("chargePayment-in-0").Group }, "billing", "stream.bindings.chargepayment-in-0.group"},
		{"function definition", []string{"STREAM_FUNCTION_DEFINITION=a;b"},
			func(c *stream.Config) any { return c.Function.Definition }, "a;b", "stream.function.definition"},
		{"binding only in env", []string{"STREAM_BINDINGS_X_IN_0_CONSUMER_MAX_ATTEMPTS=5"},
			func(c *stream.Config) any { return c.Binding("x-in-0").Consumer.MaxAttempts }, 5, "stream.bindings.x-in-0.consumer.max-attempts"},
		{"binding only in env, multi-word name", []string{"STREAM_BINDINGS_ORDER_EVENTS_OUT_0_DESTINATION=ev"},
			func(c *stream.Config) any { return c.Binding("order-events-out-0").Destination }, "ev", "stream.bindings.order-events-out-0.destination"},
		{"binding named like a property", []string{"STREAM_BINDINGS_FOO_GROUP_GROUP=g"},
			func(c *stream.Config) any { return c.Binding("foo-group").Group }, "g", "stream.bindings.foo-group.group"},
		{"known name with '_'", []string{"STREAM_BINDINGS_SNAKE_CASE_IN_0_GROUP=g"},
			func(c *stream.Config) any { return c.Binding("snake_case-in-0").Group }, "g", "stream.bindings.snake_case-in-0.group"},
		{"name from the function definition", []string{"STREAM_BINDINGS_MY_FN_IN_0_GROUP=g"},
			func(c *stream.Config) any { return c.Bindings["my_fn-in-0"].Group }, "g", "stream.bindings.my_fn-in-0.group"},
		{"name from a function defined in env", []string{"STREAM_FUNCTION_DEFINITION=new_fn", "STREAM_BINDINGS_NEW_FN_OUT_0_DESTINATION=d"},
			func(c *stream.Config) any { return c.Bindings["new_fn-out-0"].Destination }, "d", "stream.function.definition"},
		{"bool, duration and list values", []string{"STREAM_BINDINGS_X_IN_0_CONSUMER_DLQ=true", "STREAM_BINDINGS_X_IN_0_CONSUMER_BACK_OFF_MAX_INTERVAL=1500", "STREAM_BINDINGS_X_OUT_0_PRODUCER_REQUIRED_GROUPS=a,b"},
			func(c *stream.Config) any {
				return []any{c.Binding("x-in-0").Consumer.DLQ, c.Binding("x-in-0").Consumer.BackOffMaxInterval, c.Binding("x-out-0").Producer.RequiredGroups}
			}, []any{true, 1500 * time.Millisecond, []string{"a", "b"}}, "stream.bindings.x-in-0.consumer.dlq"},
		{"SCSt alias enable-dlq", []string{"STREAM_BINDINGS_X_IN_0_CONSUMER_ENABLE_DLQ=true"},
			func(c *stream.Config) any { return c.Binding("x-in-0").Consumer.DLQ }, true, "stream.bindings.x-in-0.consumer.dlq"},
		{"default section", []string{"STREAM_DEFAULT_CONSUMER_MAX_ATTEMPTS=7"},
			func(c *stream.Config) any { return c.Binding("any-in-0").Consumer.MaxAttempts }, 7, "stream.default.consumer.max-attempts"},
		{"binder environment, existing nested key", []string{"STREAM_BINDERS_LOCAL_KAFKA_ENVIRONMENT_SASL_MECHANISM=scram"},
			func(c *stream.Config) any {
				return c.Binders["local-kafka"].Environment["sasl"].(map[string]any)["mechanism"]
			}, "scram", "stream.binders.local-kafka.environment.sasl.mechanism"},
		{"binder environment, new key", []string{"STREAM_BINDERS_LOCAL_KAFKA_ENVIRONMENT_CLIENT_ID=shop"},
			func(c *stream.Config) any { return c.Binders["local-kafka"].Environment["client-id"] }, "shop", "stream.binders.local-kafka.environment.client-id"},
		{"binder declared only in env", []string{"STREAM_BINDERS_OTHER_RABBIT_TYPE=rabbit"},
			func(c *stream.Config) any { return c.Binders["other-rabbit"].Type }, "rabbit", "stream.binders.other-rabbit.type"},
		{"binder-specific section", []string{"STREAM_KAFKA_BINDINGS_CHARGEPAYMENT_IN_0_CONSUMER_START_OFFSET=latest"},
			func(c *stream.Config) any {
				cons, _ := c.Extension("kafka", "chargepayment-in-0")
				return cons["start-offset"]
			}, "latest", "stream.kafka.bindings.chargepayment-in-0.consumer.start-offset"},
		{"binder-specific section only in env", []string{"STREAM_RABBIT_BINDER_CONNECTION_NAME=shop"},
			func(c *stream.Config) any { return c.Extensions["rabbit"].Binder["connection-name"] }, "shop", "stream.rabbit.binder.connection-name"},
		{"NATS section only in env", []string{"STREAM_NATS_BINDER_MAX_AGE=1h"},
			func(c *stream.Config) any { return c.Extensions["nats"].Binder["max-age"] }, "1h", "stream.nats.binder.max-age"},
		{"Redis section only in env", []string{"STREAM_REDIS_BINDER_KEY_PREFIX=shop"},
			func(c *stream.Config) any { return c.Extensions["redis"].Binder["key-prefix"] }, "shop", "stream.redis.binder.key-prefix"},
		{"SPRING_CLOUD_STREAM_", []string{"SPRING_CLOUD_STREAM_BINDINGS_CHARGEPAYMENT_IN_0_DESTINATION=o2"},
			func(c *stream.Config) any { return c.Binding("chargePayment-in-0").Destination }, "o2", "stream.bindings.chargepayment-in-0.destination"},
		{"SPRING_CLOUD_FUNCTION_DEFINITION", []string{"SPRING_CLOUD_FUNCTION_DEFINITION=f|g"},
			func(c *stream.Config) any { return c.Function.Definition }, "f|g", "stream.function.definition"},
		{"STREAM_ wins over SPRING_CLOUD_STREAM_", []string{"STREAM_DEFAULT_BINDER=b", "SPRING_CLOUD_STREAM_DEFAULT_BINDER=a"},
			func(c *stream.Config) any { return c.DefaultBinder }, "b", "stream.default-binder"},
		{"placeholder in an env value", []string{"STREAM_BINDINGS_CHARGEPAYMENT_IN_0_GROUP=${TEAM:ops}-x"},
			func(c *stream.Config) any { return c.Binding("chargePayment-in-0").Group }, "ops-x", "stream.bindings.chargepayment-in-0.group"},
		{"unrelated variables are ignored", []string{"HOME=/root", "STREAMING=1", "STREAM_PROFILES_ACTIVE=", "STREAM_BINDER=kafka", "STREAM_=x", "STREAM_KAFKAX=1"},
			func(c *stream.Config) any { return c.DefaultBinder }, "memory", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := mustLoad(t, Options{Data: []byte(base), Env: tc.env})
			if got := tc.check(l.Stream); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
			if tc.path != "" {
				name, _, _ := strings.Cut(tc.env[0], "=")
				if got := l.Stream.Origins[tc.path]; got != "env "+name {
					t.Errorf("origin of %s = %q, want env %s", tc.path, got, name)
				}
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	env := []string{"HOST=broker", "PORT=9092", "EMPTY="}
	for _, tc := range []struct{ value, want string }{
		{"${HOST}", "broker"},
		{"${HOST:other}", "broker"},
		{"${MISSING:localhost:9092}", "localhost:9092"},
		{"${MISSING:}", ""},
		{"${EMPTY:default}", ""},
		{"${HOST}:${PORT}", "broker:9092"},
		{"tcp://${HOST}:${PORT}/x", "tcp://broker:9092/x"},
		{"${MISSING:${HOST}}", "broker"},
		{"no placeholder $HOST {x}", "no placeholder $HOST {x}"},
		{"$${HOST}", "$broker"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			yaml := "stream:\n  bindings:\n    x-in-0:\n      group: '" + tc.value + "'\nother:\n  list: ['" + tc.value + "']\n"
			l := mustLoad(t, Options{Data: []byte(yaml), Env: env})
			if got := l.Stream.Binding("x-in-0").Group; got != tc.want {
				t.Errorf("group = %q, want %q", got, tc.want)
			}
			if got := l.Raw["other"].(map[string]any)["list"].([]any)[0]; got != tc.want {
				t.Errorf("other.list[0] = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDurations(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Duration
		err   string
	}{
		{"250ms", 250 * time.Millisecond, ""},
		{"10s", 10 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{"1500", 1500 * time.Millisecond, ""},   // YAML integer: milliseconds
		{`"1500"`, 1500 * time.Millisecond, ""}, // digit-only string: milliseconds
		{"10 seconds", 0, `expected a duration such as 250ms or 10s, or an integer number of milliseconds, got "10 seconds"`},
		{"1.5", 0, "expected a duration such as 250ms or 10s, or an integer number of milliseconds, got 1.5"},
		{"99999999999999999", 0, "out of range"},
		{"[1]", 0, "got a list"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			yaml := "stream:\n  default:\n    producer:\n      poller:\n        fixed-delay: " + tc.value + "\n"
			opts := Options{Data: []byte(yaml), Env: []string{}}
			if tc.err == "" {
				l := mustLoad(t, opts)
				if got := l.Stream.Binding("x-out-0").Producer.Poller.FixedDelay; got != tc.want {
					t.Errorf("got %s, want %s", got, tc.want)
				}
				return
			}
			es := configErrors(t, opts)
			if len(es) != 1 || es[0].Path != "stream.default.producer.poller.fixed-delay" ||
				es[0].Origin != "application.yaml:5" || !strings.Contains(es[0].Msg, tc.err) {
				t.Errorf("got %v, want one error containing %q", es, tc.err)
			}
		})
	}
}

func TestDLQAliases(t *testing.T) {
	for _, key := range []string{"dlq", "enable-dlq", "auto-bind-dlq", "enableDlq", "autoBindDlq"} {
		t.Run(key, func(t *testing.T) {
			yaml := "stream:\n  bindings:\n    x-in-0:\n      consumer:\n        " + key + ": true\n"
			l := mustLoad(t, Options{Data: []byte(yaml)})
			if !l.Stream.Binding("x-in-0").Consumer.DLQ {
				t.Error("dlq not set")
			}
			if got := l.Stream.Origins["stream.bindings.x-in-0.consumer.dlq"]; got != "application.yaml:5" {
				t.Errorf("origin = %q", got)
			}
		})
	}
	t.Run("both spellings in one file", func(t *testing.T) {
		es := configErrors(t, Options{Data: []byte("stream:\n  bindings:\n    x-in-0:\n      consumer:\n        dlq: true\n        enable-dlq: false\n")})
		if len(es) != 1 || es[0].Origin != "application.yaml:6" || !strings.Contains(es[0].Msg, "duplicate key") {
			t.Errorf("got %v", es)
		}
	})
	t.Run("profile spelling overrides base", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"application.yaml":     "stream.bindings.x-in-0.consumer.enable-dlq: true\n",
			"application-off.yaml": "stream.bindings.x-in-0.consumer.auto-bind-dlq: false\n",
		})
		if l := mustLoad(t, Options{Dir: dir, Profiles: []string{"off"}}); l.Stream.Binding("x-in-0").Consumer.DLQ {
			t.Error("dlq still on")
		}
	})
}

func TestYAMLFeatures(t *testing.T) {
	t.Run("anchors and merge keys", func(t *testing.T) {
		yaml := `stream:
  bindings:
    a-in-0: &common
      group: shared
      consumer: { max-attempts: 5 }
    b-in-0:
      <<: *common
      group: own
`
		l := mustLoad(t, Options{Data: []byte(yaml)})
		a, b := l.Stream.Binding("a-in-0"), l.Stream.Binding("b-in-0")
		if a.Group != "shared" || b.Group != "own" || b.Consumer.MaxAttempts != 5 {
			t.Errorf("a = %+v, b = %+v", a, b)
		}
	})
	t.Run("null values are unset", func(t *testing.T) {
		l := mustLoad(t, Options{Data: []byte("stream:\n  default-binder:\n  bindings:\n    x-in-0:\n")})
		if _, ok := l.Stream.Bindings["x-in-0"]; !ok || l.Stream.DefaultBinder != "" {
			t.Errorf("got %+v", l.Stream)
		}
	})
	t.Run("other roots are kept, not validated", func(t *testing.T) {
		l := mustLoad(t, Options{Data: []byte("management:\n  endpoints: { web: { exposure: [health] } }\nmyApp:\n  anything: ${X:1}\n")})
		if l.Raw["myapp"].(map[string]any)["anything"] != "1" {
			t.Errorf("Raw = %v", l.Raw)
		}
		if got := l.Stream.Origins["management.endpoints.web.exposure[0]"]; got != "application.yaml:2" {
			t.Errorf("origin = %q", got)
		}
	})
}

// TestErrors has one case per kind of problem: each must be reported with
// its key path, origin and a clear message.
func TestErrors(t *testing.T) {
	type problem struct{ path, origin, msg string }
	for _, tc := range []struct {
		name string
		yaml string
		env  []string
		want []problem
	}{
		{"malformed YAML", "stream:\n  bindings:\n    x-in-0: {group: a\n  y: 1\n", nil,
			[]problem{{"", "application.yaml:3", "malformed YAML: did not find expected ',' or '}'"}}},
		{"tab indentation", "stream:\n\tdefault-binder: x\n", nil,
			[]problem{{"", "application.yaml:2", "malformed YAML"}}},
		{"top level not a map", "- a\n- b\n", nil,
			[]problem{{"", "application.yaml:1", "top level must be a mapping"}}},
		{"malformed profile condition", "stream: {}\n---\nspring.config.activate.on-profile: a & b | c\nstream: {}\n", nil,
			[]problem{{"", "application.yaml:3", "& and | mixed without parentheses"}}},
		{"alias cycle", "a: &x [*x]\n", nil,
			[]problem{{"", "application.yaml:1", "refers to itself"}}},
		{"unknown key with suggestion", "stream:\n  bindings:\n    x-in-0:\n      consumer:\n        max-attemps: 3\n", nil,
			[]problem{{"stream.bindings.x-in-0.consumer.max-attemps", "application.yaml:5", "unknown key; did you mean max-attempts?"}}},
		{"non-ASCII typo", "stream:\n  bindings:\n    x-in-0:\n      gröup: a\n", nil,
			[]problem{{"stream.bindings.x-in-0.gröup", "application.yaml:4", "unknown key; did you mean group?"}}},
		{"unknown camelCase key", "stream:\n  defaultBindr: kafka\n", nil,
			[]problem{{"stream.default-bindr", "application.yaml:2", "did you mean default-binder?"}}},
		{"key one level too high", "stream:\n  bindings:\n    x-in-0:\n      max-attempts: 3\n", nil,
			[]problem{{"stream.bindings.x-in-0.max-attempts", "application.yaml:4", "did you mean consumer.max-attempts?"}}},
		{"unknown section under stream", "stream:\n  kafka:\n    brokers: x\n", nil,
			[]problem{{"stream.kafka", "application.yaml:2", "unknown key (known keys:"}}},
		{"unknown key in a binder-specific section", "stream:\n  kafka:\n    binder: {}\n    bindngs: {}\n", nil,
			[]problem{{"stream.kafka.bindngs", "application.yaml:4", "did you mean bindings?"}}},
		{"wrong types", `stream:
  shutdown-timeout: soon
  dynamic-destination-cache-size: many
  bindings:
    x-in-0:
      group: [a]
      consumer: { concurrency: 2.5, dlq: maybe, back-off-multiplier: fast, auto-startup: 1 }
      producer: { required-groups: { a: 1 } }
`, nil, []problem{
			{"stream.bindings.x-in-0.consumer.auto-startup", "application.yaml:7", "expected true or false, got 1"},
			{"stream.bindings.x-in-0.consumer.back-off-multiplier", "application.yaml:7", `expected a number, got "fast"`},
			{"stream.bindings.x-in-0.consumer.concurrency", "application.yaml:7", "expected an integer, got 2.5"},
			{"stream.bindings.x-in-0.consumer.dlq", "application.yaml:7", `expected true or false, got "maybe"`},
			{"stream.bindings.x-in-0.group", "application.yaml:6", "expected a string, got a list"},
			{"stream.bindings.x-in-0.producer.required-groups", "application.yaml:8", "expected a list of strings or a comma-separated string, got a map"},
			{"stream.dynamic-destination-cache-size", "application.yaml:3", `expected an integer, got "many"`},
			{"stream.shutdown-timeout", "application.yaml:2", `expected a duration such as 250ms or 10s, or an integer number of milliseconds, got "soon"`},
		}},
		{"map expected", "stream:\n  bindings: orders\n", nil,
			[]problem{{"stream.bindings", "application.yaml:2", `expected a map of names, got "orders"`}}},
		{"bad duration", "stream:\n  default:\n    producer:\n      poller:\n        fixed-delay: 5 minutes\n", nil,
			[]problem{{"stream.default.producer.poller.fixed-delay", "application.yaml:5", `got "5 minutes"`}}},
		{"explicit zero", "stream:\n  bindings:\n    x-in-0:\n      consumer:\n        max-attempts: 0\n", nil,
			[]problem{{"stream.bindings.x-in-0.consumer.max-attempts", "application.yaml:5", "must not be 0"}}},
		{"explicit zero max-in-flight", "stream:\n  bindings:\n    x-in-0:\n      consumer:\n        max-in-flight: 0\n", nil,
			[]problem{{"stream.bindings.x-in-0.consumer.max-in-flight", "application.yaml:5", "must not be 0"}}},
		{"max-in-flight out of range", "stream:\n  bindings:\n    x-in-0:\n      consumer:\n        max-in-flight: 65537\n", nil,
			[]problem{{"stream.bindings.x-in-0.consumer.max-in-flight", "application.yaml:5", "must be between 1 and 65536, got 65537"}}},
		{"empty retry delay", "stream:\n  bindings:\n    x-in-0:\n      consumer:\n        retry-delays: '1s,,2s'\n", nil,
			[]problem{{"stream.bindings.x-in-0.consumer.retry-delays[1]", "application.yaml:5", `empty element in "1s,,2s"`}}},
		{"invalid binding values", "stream:\n  bindings:\n    x-in-0:\n      consumer: { max-attempts: -1, instance-index: 3, instance-count: 2 }\n      content-type: 'not a type'\n", nil, []problem{
			{"stream.bindings.x-in-0.consumer.max-attempts", "application.yaml:4", "must be at least 1, got -1"},
			{"stream.bindings.x-in-0.consumer.instance-index", "application.yaml:4", "must be in [0, instance-count=2), got 3"},
			{"stream.bindings.x-in-0.content-type", "application.yaml:5", ""},
		}},
		{"invalid default is reported once", "stream:\n  default:\n    consumer: { concurrency: -2 }\n  bindings: { a-in-0: {}, b-in-0: {} }\n", nil,
			[]problem{{"stream.default.consumer.concurrency", "application.yaml:3", "must be at least 1, got -2"}}},
		{"binder without type", "stream:\n  binders:\n    k1:\n      environment: { brokers: x }\n", nil,
			[]problem{{"stream.binders.k1.type", "application.yaml:3", "required"}}},
		{"unset placeholder", "stream:\n  binders:\n    k:\n      type: kafka\n      environment: { brokers: '${KAFKA_BROKERS}' }\n", nil,
			[]problem{{"stream.binders.k.environment.brokers", "application.yaml:5", "environment variable KAFKA_BROKERS is not set"}}},
		{"malformed placeholders", "stream:\n  bindings:\n    x-in-0: { destination: '${}', group: 'a-${B' }\n", nil, []problem{
			{"stream.bindings.x-in-0.destination", "application.yaml:3", `placeholder "${}" names no variable`},
		}},
		{"duplicate key", "stream:\n  default-binder: a\n  defaultBinder: b\n", nil,
			[]problem{{"stream.default-binder", "application.yaml:3", "duplicate key \"defaultBinder\" (already set at application.yaml:2)"}}},
		{"alias and canonical root set the same key", "stream:\n  default-binder: a\nspring.cloud.stream.default-binder: b\n", nil,
			[]problem{{"stream.default-binder", "application.yaml:3", "already set at application.yaml:2"}}},
		{"env variable that names no key", "", []string{"STREAM_BINDINGS_X_IN_0_COLOUR=red"},
			[]problem{{"stream.bindings", "env STREAM_BINDINGS_X_IN_0_COLOUR", "matches no configuration key"}}},
		{"env variable that names no key, misspelt property", "", []string{"STREAM_DEFAULT_CONSUMER_MAX_ATEMPTS=5"},
			[]problem{{"stream.default.consumer.max-atempts", "env STREAM_DEFAULT_CONSUMER_MAX_ATEMPTS", "STREAM_DEFAULT_CONSUMER_MAX_ATEMPTS matches no configuration key; did you mean STREAM_DEFAULT_CONSUMER_MAX_ATTEMPTS?"}}},
		{"env variable that names no key, misspelt SCSt property", "", []string{"SPRING_CLOUD_STREAM_BINDINGS_UP_IN_0_DESTINATON=x"},
			[]problem{{"stream.bindings.up-in-0.destinaton", "env SPRING_CLOUD_STREAM_BINDINGS_UP_IN_0_DESTINATON", "did you mean SPRING_CLOUD_STREAM_BINDINGS_UP_IN_0_DESTINATION?"}}},
		{"env variable that names no key, nothing near", "", []string{"STREAM_DEFAULT_CONSUMER_MAX_ATTEMPTS_PER_HOUR=5"},
			[]problem{{"stream.default", "env STREAM_DEFAULT_CONSUMER_MAX_ATTEMPTS_PER_HOUR", "STREAM_DEFAULT_CONSUMER_MAX_ATTEMPTS_PER_HOUR matches no configuration key (expected"}}},
		{"wrong type from env", "", []string{"STREAM_BINDINGS_X_IN_0_CONSUMER_MAX_ATTEMPTS=five"},
			[]problem{{"stream.bindings.x-in-0.consumer.max-attempts", "env STREAM_BINDINGS_X_IN_0_CONSUMER_MAX_ATTEMPTS", `expected an integer, got "five"`}}},
		{"several problems at once", `stream:
  default-binder: ${BINDER}
  bindings:
    x-in-0:
      destinaton: orders
      consumer: { max-attempts: lots, back-off-initial-interval: 1 hour }
  binders:
    k: { type: '' }
`, nil, []problem{
			{"stream.default-binder", "application.yaml:2", "environment variable BINDER is not set"},
			{"stream.bindings.x-in-0.consumer.back-off-initial-interval", "application.yaml:6", `got "1 hour"`},
			{"stream.bindings.x-in-0.consumer.max-attempts", "application.yaml:6", `expected an integer, got "lots"`},
			{"stream.bindings.x-in-0.destinaton", "application.yaml:5", "did you mean destination?"},
			{"stream.binders.k.type", "application.yaml:8", "required"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(tc.yaml), Env: tc.env})
			if len(es) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(es), len(tc.want), es)
			}
			for i, w := range tc.want {
				e := es[i]
				if e.Path != w.path || e.Origin != w.origin || !strings.Contains(e.Msg, w.msg) {
					t.Errorf("problem %d = %q\nwant path %q, origin %q, message containing %q", i, e.Error(), w.path, w.origin, w.msg)
				}
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	t.Run("missing explicit file", func(t *testing.T) {
		es := configErrors(t, Options{Dir: t.TempDir(), File: "custom.yaml"})
		if len(es) != 1 || es[0].Path != "custom.yaml" || !strings.Contains(es[0].Msg, "cannot read config file") {
			t.Errorf("got %v", es)
		}
	})
	t.Run("malformed profile file, problems in both files", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"application.yaml":     "stream:\n  grup: x\n",
			"application-bad.yaml": "stream:\n  default-binder: [\n",
		})
		es := configErrors(t, Options{Dir: dir, Profiles: []string{"bad"}})
		if len(es) != 2 || es[0].Path != "" || es[0].Origin != "application-bad.yaml:3" ||
			es[1].Path != "stream.grup" || es[1].Origin != "application.yaml:2" {
			t.Errorf("got %v", es)
		}
	})
	t.Run("profile replaces a map with a value", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{
			"application.yaml":   "stream:\n  bindings:\n    x-in-0: { consumer: { max-attempts: 2 } }\n",
			"application-p.yaml": "stream:\n  bindings:\n    x-in-0: { consumer: 5 }\n",
		})
		es := configErrors(t, Options{Dir: dir, Profiles: []string{"p"}})
		if len(es) != 1 || es[0].Path != "stream.bindings.x-in-0.consumer" || es[0].Origin != "application-p.yaml:3" ||
			!strings.Contains(es[0].Msg, "cannot replace the map set at application.yaml:3") {
			t.Errorf("got %v", es)
		}
	})
	t.Run("file past the size limit", func(t *testing.T) {
		big := "a: " + strings.Repeat("x", MaxFileBytes) + "\n"
		dir := writeFiles(t, map[string]string{"application.properties": big})
		es := configErrors(t, Options{Dir: dir})
		if len(es) != 1 || es[0].Path != "application.properties" || !strings.Contains(es[0].Msg, "larger than 16 MiB, the limit for a configuration file") {
			t.Errorf("got %v", es)
		}
		es = configErrors(t, Options{Data: []byte(big)})
		if len(es) != 1 || es[0].Path != "application.yaml" || !strings.Contains(es[0].Msg, "larger than 16 MiB, the limit for a configuration file") {
			t.Errorf("got %v", es)
		}
	})
	t.Run("partial result on error", func(t *testing.T) {
		l, err := Load(Options{Data: []byte("stream:\n  default-binder: kafka\n  bogus: 1\n"), Env: []string{}})
		if err == nil || l == nil || l.Stream.DefaultBinder != "kafka" {
			t.Errorf("got %+v, %v", l, err)
		}
	})
}

// A binding's explicit false or 0 wins over stream.default.
func TestExplicitZeroOverridesDefault(t *testing.T) {
	l, err := Load(Options{Data: []byte(`
stream:
  default: { consumer: { dlq: true, batch-mode: true, partitioned: true, instance-index: 1, instance-count: 2 } }
  bindings:
    x-in-0: { consumer: { enable-dlq: false, batchMode: false, partitioned: false, instance-index: 0 } }
    z-in-0: { group: g }
`), Env: []string{"STREAM_BINDINGS_Y_IN_0_CONSUMER_DLQ=false"}})
	if err != nil {
		t.Fatal(err)
	}
	x := l.Stream.Binding("x-in-0").Consumer
	if x.DLQ || x.BatchMode || x.Partitioned || x.InstanceIndex != 0 {
		t.Fatalf("x-in-0: %+v", x)
	}
	if y := l.Stream.Binding("y-in-0").Consumer; y.DLQ || !y.BatchMode {
		t.Fatalf("y-in-0 (env): %+v", y)
	}
	if z := l.Stream.Binding("z-in-0").Consumer; !z.DLQ || !z.BatchMode || !z.Partitioned || z.InstanceIndex != 1 {
		t.Fatalf("z-in-0 must take the defaults: %+v", z)
	}
}

// SCSt puts enable-dlq (Kafka) and auto-bind-dlq (RabbitMQ) in the
// binder-specific sections; a ported file must work unchanged.
func TestDLQAliasesInBinderSections(t *testing.T) {
	l, err := Load(Options{Data: []byte(`
spring:
  cloud:
    stream:
      kafka:
        default: { consumer: { enableDlq: true } }
        bindings:
          a-in-0: { consumer: { enableDlq: false, startOffset: earliest } }
      rabbit:
        bindings:
          b-in-0: { consumer: { autoBindDlq: true, prefetch: 10 } }
`), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	s := l.Stream
	if !s.Default.Consumer.DLQ || s.Binding("a-in-0").Consumer.DLQ || !s.Binding("b-in-0").Consumer.DLQ {
		t.Fatalf("dlq: default %v a %v b %v", s.Default.Consumer.DLQ, s.Binding("a-in-0").Consumer.DLQ, s.Binding("b-in-0").Consumer.DLQ)
	}
	kc, _ := s.Extension("kafka", "a-in-0")
	rc, _ := s.Extension("rabbit", "b-in-0")
	if _, left := kc["enable-dlq"]; left || kc["start-offset"] != "earliest" {
		t.Fatalf("kafka consumer section %v", kc)
	}
	if _, left := rc["auto-bind-dlq"]; left || rc["prefetch"] == nil {
		t.Fatalf("rabbit consumer section %v", rc)
	}
	_, err = Load(Options{Data: []byte(`
stream:
  bindings: { a-in-0: { consumer: { dlq: false } } }
  kafka:
    bindings: { a-in-0: { consumer: { enable-dlq: true } } }
`), Env: []string{}})
	if err == nil || !strings.Contains(err.Error(), "stream.kafka.bindings.a-in-0.consumer.enable-dlq") {
		t.Fatalf("a disagreeing alias must be reported: %v", err)
	}
}

// Spring's relaxed env names drop the dashes of camelCase keys
// (DEFAULTBINDER, MAXATTEMPTS); both spellings override, and a misspelt
// variable for a binder-specific section is reported, not ignored.
func TestEnvRelaxedNames(t *testing.T) {
	data := []byte(`
stream:
  function: { definition: chargePayment }
  kafka:
    bindings:
      x-in-0: { consumer: { start-offset: latest } }
`)
	l, err := Load(Options{Data: data, Env: []string{
		"SPRING_CLOUD_STREAM_DEFAULTBINDER=kafka",
		"SPRING_CLOUD_STREAM_BINDINGS_CHARGEPAYMENT_IN_0_CONSUMER_MAXATTEMPTS=7",
		"STREAM_KAFKA_BINDINGS_X_IN_0_CONSUMER_STARTOFFSET=earliest",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if l.Stream.DefaultBinder != "kafka" {
		t.Errorf("default binder %q", l.Stream.DefaultBinder)
	}
	if n := l.Stream.Binding("chargePayment-in-0").Consumer.MaxAttempts; n != 7 {
		t.Errorf("max-attempts %d", n)
	}
	c, _ := l.Stream.Extension("kafka", "x-in-0")
	if c["start-offset"] != "earliest" || len(c) != 1 {
		t.Errorf("kafka consumer section %v (the override must replace start-offset, not add a key)", c)
	}
	for _, bad := range []string{
		"STREAM_KAFKA_BINDNGS_X_IN_0_CONSUMER_START_OFFSET=earliest",
		"STREAM_RABBIT_BINDINGS_X_IN_0_CONSUMR_PREFETCH=1",
		"STREAM_NATS_BINDNGS_X_IN_0_CONSUMER_ACK_WAIT=1s",
		"STREAM_REDIS_BINDINGS_X_IN_0_CONSUMR_CLAIM_MIN_IDLE=1s",
	} {
		_, err := Load(Options{Data: data, Env: []string{bad}})
		if err == nil || !strings.Contains(err.Error(), "binder-specific section") {
			t.Errorf("%s: want an error, got %v", bad, err)
		}
	}
}

// Whole numbers written as floats are integers (and milliseconds).
func TestIntegralFloats(t *testing.T) {
	l, err := Load(Options{Data: []byte(`
stream:
  default: { consumer: { concurrency: 2.0, back-off-initial-interval: 1e3 } }
`), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if c := l.Stream.Default.Consumer; c.Concurrency != 2 || c.BackOffInitialInterval != time.Second {
		t.Fatalf("%+v", c)
	}
	_, err = Load(Options{Data: []byte("stream: { default: { consumer: { concurrency: 2.5 } } }"), Env: []string{}})
	if err == nil || !strings.Contains(err.Error(), "2.5") {
		t.Fatalf("2.5 must be refused, showing the value: %v", err)
	}
}

// Small hostile files fail fast instead of exhausting memory or time.
func TestHostileFilesFailFast(t *testing.T) {
	long := strings.Repeat("x", 100_000)
	var b strings.Builder
	b.WriteString("s: &s " + long + "\nl:\n")
	for range 500 {
		b.WriteString("  - *s\n")
	}
	_, err := Load(Options{Data: []byte(b.String()), Env: []string{}})
	if err == nil || !strings.Contains(err.Error(), "too much text") {
		t.Fatalf("aliases of a long string: %v", err)
	}
	nested := strings.Repeat("${A:", 10_000) + "x" + strings.Repeat("}", 10_000)
	_, err = Load(Options{Data: []byte("stream: { default-binder: \"" + nested + "\" }"), Env: []string{}})
	if err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Fatalf("deeply nested placeholders: %v", err)
	}
}

// A leading zero does not make a number octal: 010 is 10, in the file as in
// the environment.
func TestLeadingZeroIsDecimal(t *testing.T) {
	l, err := Load(Options{Data: []byte("stream: { default: { consumer: { max-attempts: 010, back-off-initial-interval: 010 } } }"),
		Env: []string{"STREAM_DEFAULT_CONSUMER_CONCURRENCY=010"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := l.Stream.Default.Consumer; c.MaxAttempts != 10 || c.BackOffInitialInterval != 10*time.Millisecond || c.Concurrency != 10 {
		t.Fatalf("%+v", c)
	}
}

// wantWarnings checks that l has, for each path of want, a warning whose
// "origin: message" is want's text for it (other warnings may be there too).
func wantWarnings(t *testing.T, l *Loaded, want map[string]string) {
	t.Helper()
	got := map[string]bool{}
	for _, w := range l.Warnings {
		if exp, ok := want[w.Path]; ok {
			got[w.Path] = true
			if w.Origin+": "+w.Msg != exp {
				t.Errorf("%s:\n got %s: %s\nwant %s", w.Path, w.Origin, w.Msg, exp)
			}
		}
	}
	for p := range want {
		if !got[p] {
			t.Errorf("no warning for %s (warnings: %v)", p, l.Warnings)
		}
	}
}
