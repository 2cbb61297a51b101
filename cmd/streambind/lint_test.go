package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
)

// demoDir is the module root, which holds the demo's configuration.
const demoDir = "../.."

func TestLintDemoIsClean(t *testing.T) {
	// Every profile: the nats profile's placeOrder-out-0 provisioned its
	// required groups partitioned (durables inventory_p0..2 ...) for the
	// demo's unpartitioned consumers, and on RabbitMQ the dead-letter
	// reader's group was not used (the binder consumes the DLQ itself):
	// both warnings, now set right in the profiles.
	for _, profile := range []string{"", "kafka", "rabbit", "nats", "redis"} {
		t.Run("profile="+profile, func(t *testing.T) {
			r := runIn(t, demoDir, nil, "lint", "--profile", profile)
			if r.code != exitOK || r.stdout != "" || r.stderr != "" {
				t.Errorf("exit status %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestLintValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"defaults", nil, []string{"lint", "valid"}},
		{"file", nil, []string{"lint", "valid/application.yaml"}},
		{"kafka profile and placeholders", []string{"BINDER=kafka", "KAFKA_BROKERS=k1:9092,k2:9092", "INSTANCE=1"}, []string{"lint", "--profile", "kafka", "valid"}},
		{"profile from the environment", []string{"SPRING_PROFILES_ACTIVE=kafka", "BINDER=kafka"}, []string{"lint", "valid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runIn(t, "testdata/lint", tc.env, tc.args...)
			if r.code != exitOK || r.stdout != "" || r.stderr != "" {
				t.Errorf("exit status %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// brokenLines are the problems of testdata/lint/broken, as lint prints them.
var brokenLines = []string{
	`broken/application.yaml:11: stream.binders.kafka.environment.brokers: environment variable KAFKA_BROKERS is not set (placeholder ${KAFKA_BROKERS}; write ${KAFKA_BROKERS:default} to give a default)`,
	`broken/application.yaml:12: stream.binders.kafka.environment.bogus-key: unknown key (known: brokers (or bootstrap-servers), default-broker-port, client-id, required-acks (or acks), auto-create-topics, auto-add-partitions, min-partition-count, replication-factor, dial-timeout, heartbeat-interval, session-timeout, rebalance-timeout, close-timeout, health-interval, health-timeout, lag-interval, metrics, tls, sasl, jaas, configuration, consumer-properties, producer-properties; SCSt's: headers, consider-down-when-any-partition-has-no-leader, enable-observation, auto-alter-topics, zk-nodes, default-zk-port, zk-session-timeout, zk-connection-timeout)`,
	`broken/application.yaml:19: stream.bindings.produce-out-0.producer.required-groups: warning: provisions group "nobody" on events, but no consumer of the services given reads it: its messages pile up (lint the consuming service together with this one)`,
	`broken/application.yaml:25: stream.bindings.consume-in-0.consumer.instance-count: is 4, but produce-out-0 (broken/application.yaml:14) sends to events with partition-count 2: Kafka gives each partition to one instance, so 2 of the 4 instances receive nothing`,
	`broken/application.yaml:26: stream.bindings.consume-in-0.consumer.concurrency: expected an integer, got "many"`,
	`broken/application.yaml:27: stream.bindings.consume-in-0.consumer.max-attempts: must not be 0: 0 stands for "not set" (leave the key out to get the default)`,
	`broken/application.yaml:31: stream.bindings.audit-in-0.consumer.dlq: dlq needs a consumer group: the failed messages of an anonymous consumer are dropped, not dead-lettered (set group)`,
	// A configured binding nothing binds is a warning, as in SCSt (the
	// file may configure the functions of other deployments).
	`broken/application.yaml:32: stream.bindings.other-in-0: warning: configured binding not bound: no bound function or output binding has this name; its settings are unused (nearest bound: audit-in-0; bound: audit-in-0, auditTrail, consume-in-0, produce-out-0)`,
	`broken/application.yaml:36: stream.bindings.auditTrail.producer.partition-key-expression: expression "body.id": unknown name "body" (available: headers, payload) (supported: payload/headers property and index access, literals, + - * / %, comparisons, and/or/not, ?:, toString(), hashCode())`,
	`broken/application.yaml:40: stream.kafka.default.consumer.nonsense: unknown key (known: start-offset, reset-offsets, enable-dlq, dlq-name, dlq-partitions, dlq-producer-properties, max-wait, max-bytes, queue-capacity, batch-size, redelivery-delay, ordering, auto-rebalance-enabled, configuration, topic (or admin); SCSt's: ack-each-record, auto-commit-offset, ack-mode, auto-commit-on-error, destination-is-pattern, standard-headers, idle-event-interval, poll-timeout, tx-commit-recovered, reactive-at-most-once, reactive-auto-commit)`,
	`broken/application.yaml:44: stream.kafka.bindings.produce-out-0.producer.batch-size: must be at least 1, got 0`,
	// A common property among a binder's (SCSt ignores it there) is a
	// warning naming where it belongs; it was an unknown key.
	"broken/application.yaml:45: stream.kafka.bindings.produce-out-0.producer.partition-key-expression: warning: ignored: partition-key-expression is a common producer property, not one of the kafka binder's, which SCSt ignores here too; to apply it, set stream.bindings.produce-out-0.producer.partition-key-expression (spring.cloud.stream.bindings.produce-out-0.producer.partitionKeyExpression in SCSt's form)",
	`broken/application.yaml:46: stream.bogus: unknown key (known keys: binders, bindings, default, default-binder, dynamic-destination-cache-size, dynamic-destinations, function, input-bindings, instance-count, instance-index, output-bindings, poller, shutdown-timeout; or a binder-specific section with binder, bindings, default)`,
	`broken/application.yaml:48: logging.level: want trace, debug, info, warn, error, fatal or off (any case), got "loud"`,
	`broken/application.yaml:51: management.server.max-connections: must be at least 1, got 0`,
}

func TestLintBroken(t *testing.T) {
	r := runIn(t, "testdata/lint", nil, "lint", "broken")
	if r.code != exitFailure {
		t.Errorf("exit status %d, want 1", r.code)
	}
	assertLines(t, r.lines(), brokenLines)
	if r.stderr != "" {
		t.Errorf("stderr %q, want nothing", r.stderr)
	}
}

func TestLintBrokenGitHub(t *testing.T) {
	r := runIn(t, "testdata/lint", nil, "lint", "--format", "github", "broken/application.yaml")
	if r.code != exitFailure {
		t.Errorf("exit status %d, want 1", r.code)
	}
	var want []string
	for _, l := range brokenLines {
		// "file:line: key: message" → "::error file=F,line=L::key: message"
		file, rest, _ := strings.Cut(l, ":")
		line, msg, _ := strings.Cut(rest, ": ")
		level := "error"
		if strings.Contains(msg, ": warning: ") {
			level, msg = "warning", strings.Replace(msg, ": warning: ", ": ", 1)
		}
		// A workflow command's message escapes '%' (the expression
		// syntax in a message lists it).
		want = append(want, "::"+level+" file="+file+",line="+line+"::"+ghData(msg))
	}
	assertLines(t, r.lines(), want)
}

// Problems set by a profile file and by the environment are reported
// where they were set.
func TestLintProfileAndEnvironment(t *testing.T) {
	env := []string{"KAFKA_BROKERS=localhost:9092", "STREAM_BINDINGS_CONSUME_IN_0_CONSUMER_CONCURRENCY=0"}
	r := runIn(t, "testdata/lint", env, "lint", "--profile", "prod", "broken")
	if r.code != exitFailure {
		t.Errorf("exit status %d, want 1", r.code)
	}
	got := r.lines()
	want := []string{
		// A value from the environment names the variable, not a file.
		`env STREAM_BINDINGS_CONSUME_IN_0_CONSUMER_CONCURRENCY: stream.bindings.consume-in-0.consumer.concurrency: must not be 0: 0 stands for "not set" (leave the key out to get the default)`,
		`broken/application-prod.yaml:4: stream.default.consumer.back-off-multiplier: must be at least 1.0, got 0.5`,
	}
	if len(got) < 2 {
		t.Fatalf("output:\n%s", r.stdout)
	}
	assertLines(t, got[:2], want)
	// The placeholder is set now, and the bad concurrency of the file is
	// overridden by the environment's.
	for _, l := range got {
		if strings.Contains(l, "KAFKA_BROKERS is not set") || strings.Contains(l, `"many"`) {
			t.Errorf("unexpected line %q", l)
		}
	}
	if len(got) != len(brokenLines) {
		t.Errorf("%d lines, want %d:\n%s", len(got), len(brokenLines), r.stdout)
	}
}

func TestLintPartitionsAcrossServices(t *testing.T) {
	r := runIn(t, "testdata/lint/partitions", nil, "lint", "producer", "consumer/application.yaml")
	if r.code != exitFailure {
		t.Errorf("exit status %d, want 1", r.code)
	}
	assertLines(t, r.lines(), []string{
		`consumer/application.yaml:14: stream.bindings.work-in-0.consumer.instance-count: is 3, but producer/emit-out-0 (producer/application.yaml:9) sends to jobs with partition-count 4: on RabbitMQ partition p goes to the queue of instance p, so partition 3 reaches no instance`,
		`consumer/application.yaml:14: stream.bindings.work-in-0.consumer.instance-count: is 3, but producer/emitMore-out-0 (producer/application.yaml:15) sends to jobs with partition-count 2: instance 2 receives nothing`,
		// RabbitMQ: not even instance 0 (its queue is bound with tasks-0,
		// the producer publishes with tasks).
		`consumer/application.yaml:19: stream.bindings.task-in-0.consumer.partitioned: is true, but producer/emitPlain-out-0 (producer/application.yaml:20) sends to tasks unpartitioned: on RabbitMQ a partitioned consumer's queue is bound with the routing key tasks-<instance-index> and an unpartitioned producer publishes without the -<partition> suffix, so no instance receives its messages`,
		`producer/application.yaml:13: stream.bindings.emit-out-0.producer.partition-count: is 4, but emitMore-out-0 (producer/application.yaml:15) with 2 also sends to jobs: producers of one destination must agree on its partitions`,
		`producer/application.yaml:19: stream.bindings.emitMore-out-0.producer.partition-count: is 2, but emit-out-0 (producer/application.yaml:9) with 4 also sends to jobs: producers of one destination must agree on its partitions`,
		// Across services too: the unpartitioned producer's required
		// group is the queue tasks.taskers, the partitioned consumer's
		// tasks.taskers-<i>.
		`producer/application.yaml:23: stream.bindings.emitPlain-out-0.producer.required-groups: warning: the consumer of group taskers, consumer/task-in-0 (consumer/application.yaml:15), is partitioned and reads the queues tasks.taskers-<instance-index>, but this producer is not: on RabbitMQ its required-groups makes the queue tasks.taskers, which nothing reads: each keeps a copy of every message sent to it and fills up for ever. Set the shapes alike: partition this producer as the group's consumers are (partition-key-expression, partition-count 2), or remove taskers from required-groups (its consumers then make what they read when they bind; what is sent before that is not kept for them); then delete the queues already declared`,
	})
}

// A group provisioned by required-groups that no consumer of the services
// given reads is a warning: the consumer may be in a service not given.
func TestLintRequiredGroupsWarning(t *testing.T) {
	producer := `
stream:
  function:
    definition: emit
  bindings:
    emit-out-0:
      destination: jobs
      producer:
        required-groups: workers
  binders:
    kafka:
      type: kafka
`
	// On a broker both reach: in-process destinations are each process's
	// own, and lint does not join them across services.
	consumer := `
stream:
  function:
    definition: work
  bindings:
    work-in-0:
      destination: jobs
      group: workers
  binders:
    kafka:
      type: kafka
`
	dir := writeFiles(t, map[string]string{"producer/application.yaml": producer, "consumer/application.yml": consumer})
	warning := `producer/application.yaml:9: stream.bindings.emit-out-0.producer.required-groups: warning: provisions group "workers" on jobs, but no consumer of the services given reads it: its messages pile up (lint the consuming service together with this one)`

	r := runIn(t, dir, nil, "lint", "producer")
	if r.code != exitOK {
		t.Errorf("alone: exit status %d, want 0 (a warning)", r.code)
	}
	assertLines(t, r.lines(), []string{warning})

	r = runIn(t, dir, nil, "lint", "--strict", "producer")
	if r.code != exitFailure {
		t.Errorf("alone, --strict: exit status %d, want 1", r.code)
	}

	r = runIn(t, dir, nil, "lint", "--strict", "producer", "consumer")
	if r.code != exitOK || r.stdout != "" {
		t.Errorf("together: exit status %d, output %q; want 0 and nothing", r.code, r.stdout)
	}
}

// Functions are not registered in a lint run: every function of the
// definition is taken as registered, with the kind its bindings show.
func TestLintFunctionsAreNotRequired(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `
stream:
  function:
    definition: source;transform|enrich;sink
  default:
    consumer:
      batch-mode: true
  bindings:
    source-out-0: {destination: a}
    transform|enrich-in-0: {destination: a, group: t}
    transform|enrich-out-0: {destination: b}
    sink-in-0: {destination: b, group: s}
`})
	r := runIn(t, dir, nil, "lint")
	if r.code != exitOK || r.stdout != "" {
		t.Errorf("exit status %d, output %q; want 0 and nothing", r.code, r.stdout)
	}
}

func TestLintEmptyDefinition(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"one/application.yaml": "stream:\n  bindings:\n    work-in-0:\n      group: g\n",
		"two/application.yaml": "stream:\n  bindings:\n    work-in-0:\n      group: g\n    other-out-0:\n      destination: x\n",
	})
	r := runIn(t, dir, nil, "lint", "one")
	if r.code != exitOK || r.stdout != "" {
		t.Errorf("one function: exit status %d, output %q; want 0 and nothing", r.code, r.stdout)
	}
	// other-out-0 (no group) may be the send bridge's, as an SCSt app's
	// one Consumer bean sends there with StreamBridge: a warning says
	// what was assumed (TestLintEmptyDefinitionBridgeOutput).
	r = runIn(t, dir, nil, "lint", "two")
	if r.code != exitOK {
		t.Errorf("two functions: exit status %d, want 0", r.code)
	}
	assertLines(t, r.lines(), []string{
		"two/application.yaml:1: stream.function.definition: warning: is empty: checked as work, the one function whose bindings have an input or a group; the output bindings of other are taken for the send bridge's (if the app registers other too, list the functions to bind)",
	})
}

func TestLintUnreadablePath(t *testing.T) {
	dir := writeFiles(t, map[string]string{"empty/README": "no configuration here"})
	r := runIn(t, dir, nil, "lint", "missing", "empty")
	if r.code != exitFailure {
		t.Errorf("exit status %d, want 1", r.code)
	}
	for _, want := range []string{"missing: no such file or directory", "empty: no application.yaml, application.yml or application.properties in this directory"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr %q does not contain %q", r.stderr, want)
		}
	}
}

// Secrets in a value lint shows are redacted.
func TestLintRedactsSecrets(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `
stream:
  function:
    definition: work
  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
      environment:
        addresses: amqp://user:s3cr3t@host:5672
        password: [s3cr3t-too]
  bindings:
    work-in-0: {group: g}
`})
	r := runIn(t, dir, nil, "lint")
	if r.code != exitFailure {
		t.Errorf("exit status %d, want 1: %s", r.code, r.stdout)
	}
	if strings.Contains(r.stdout, "s3cr3t") {
		t.Errorf("a secret in the output:\n%s", r.stdout)
	}
}

// The three-service system of testdata/system, linted together: the
// groups orders provisions are read by billing and shipping (but
// analytics is nobody's), and shipping's partitioned consumer does not
// fit orders' partitions.
func TestLintSystem(t *testing.T) {
	r := runIn(t, "testdata/system", nil, "lint", "orders/", "billing/", "shipping/")
	if r.code != exitFailure {
		t.Errorf("exit status %d, want 1", r.code)
	}
	assertLines(t, r.lines(), []string{
		`orders/application.yaml:22: stream.bindings.placeOrder-out-0.producer.required-groups: warning: provisions group "analytics" on orders, but no consumer of the services given reads it: its messages pile up (lint the consuming service together with this one)`,
		`shipping/application.yaml:25: stream.bindings.shipOrder-out-0.producer.required-groups: warning: ` + unroutable("shipments") + ` (producer.required-groups is not set: its default applies)`,
		`shipping/application.yaml:33: stream.bindings.trackParcel-in-0.consumer.instance-count: is 8, but orders/placeOrder-out-0 (orders/application.yaml:17) sends to orders with partition-count 4: Kafka gives each partition to one instance, so 4 of the 8 instances receive nothing`,
	})
}

// A configuration that chooses no binder and declares none leaves the
// choice to the app's code (the one binder type it registers): lint does
// not fail for that, and checks the bindings with the binder of the one
// binder-specific section the configuration has (else the in-process
// binder). Declared binders without a default fail as in the app.
func TestLintBinderLeftToTheApp(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"plain/application.yaml": "stream:\n  bindings:\n    work-in-0:\n      group: g\n",
		"kafka/application.yaml": "stream:\n  bindings:\n    work-in-0:\n      group: g\n  kafka:\n    bindings:\n      work-in-0:\n        consumer:\n          start-offset: erliest\n",
		"two/application.yaml":   "stream:\n  binders:\n    a:\n      type: rabbit\n    b:\n      type: kafka\n  bindings:\n    work-in-0:\n      group: g\n",
	})
	r := runIn(t, dir, nil, "lint", "plain")
	if r.code != exitOK || r.stdout != "" || r.stderr != "" {
		t.Errorf("plain: exit status %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, dir, nil, "lint", "kafka")
	if r.code != exitFailure || !strings.Contains(r.stdout, "kafka/application.yaml:9: stream.kafka.bindings.work-in-0.consumer.start-offset:") {
		t.Errorf("kafka: exit status %d, stdout %q; want 1 and the Kafka binder's finding", r.code, r.stdout)
	}
	r = runIn(t, dir, nil, "lint", "two")
	if r.code != exitFailure || !strings.Contains(r.stdout, "stream.default-binder: is not set and 2 binders are declared under stream.binders (a, b)") {
		t.Errorf("two: exit status %d, stdout %q", r.code, r.stdout)
	}
}

// The loader's warnings (keys ignored) are lint warnings: printed, exit 0.
func TestLintLoaderWarnings(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "spring:\n  kafka:\n    consumer:\n      group-id: x\nstream:\n  default-binder: memory\n  bindings:\n    work-in-0:\n      group: g\n",
	})
	r := runIn(t, dir, nil, "lint")
	if r.code != exitOK || r.stderr != "" || !strings.Contains(r.stdout, "application.yaml:4: ") || !strings.Contains(r.stdout, ": warning: ") {
		t.Errorf("exit status %d, stdout %q, stderr %q; want 0 and a warning at line 4", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, dir, nil, "lint", "--strict")
	if r.code != exitFailure {
		t.Errorf("--strict: exit status %d, want 1", r.code)
	}
	// config prints them on stderr and succeeds.
	r = runIn(t, dir, nil, "config")
	if r.code != exitOK || !strings.Contains(r.stderr, "application.yaml:4: spring.kafka.consumer.group-id: warning: ") {
		t.Errorf("config: exit status %d, stderr %q; want 0 and the warning", r.code, r.stderr)
	}
}

// A cycle in consumer.dead-letters-of (a reads b's dead letters, b reads
// a's) is refused, naming both keys.
func TestLintDeadLettersOfCycle(t *testing.T) {
	dir := writeFiles(t, map[string]string{"svc/application.yaml": `stream:
  function:
    definition: a;b
  bindings:
    a-in-0:
      group: ga
      consumer:
        dlq: true
        dead-letters-of: b-in-0
    b-in-0:
      group: gb
      consumer:
        dlq: true
        dead-letters-of: a-in-0
`})
	r := runIn(t, dir, nil, "lint", "svc")
	out := r.stdout + r.stderr
	if r.code != exitFailure || !strings.Contains(out, "stream.bindings.a-in-0.consumer.dead-letters-of: names b-in-0, which itself reads dead letters (stream.bindings.b-in-0.consumer.dead-letters-of") {
		t.Errorf("exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// A problem names its file, or the environment variable it came from,
// once: not again as its key or at the start of its message.
func TestLintNamesTheFileOrVariableOnce(t *testing.T) {
	t.Parallel() // reads a file past the 16 MiB limit: seconds under -race, beside the others
	dir := writeFiles(t, map[string]string{"big/application.properties": "", "ok/application.yaml": "stream:\n  default-binder: memory\n"})
	big, err := os.OpenFile(filepath.Join(dir, "big", "application.properties"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(config.MaxFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	if err := big.Close(); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, dir, nil, "lint", "big")
	assertLines(t, r.lines(), []string{
		`big/application.properties: cannot read config file: the file is larger than 16 MiB, the limit for a configuration file`,
	})
	for _, tc := range []struct {
		format string
		want   string
	}{
		{"text", `env SPRING_APPLICATION_JSON: not valid JSON: unexpected end of JSON input`},
		{"github", `::error::env SPRING_APPLICATION_JSON: not valid JSON: unexpected end of JSON input`},
	} {
		r = runIn(t, dir, []string{"SPRING_APPLICATION_JSON={"}, "lint", "--format", tc.format, "ok")
		assertLines(t, r.lines(), []string{tc.want})
		if r.code != exitFailure {
			t.Errorf("%s: exit status %d, want 1", tc.format, r.code)
		}
	}
}

// A problem with a value that a placeholder filled in names the
// placeholder, for the binders' own settings too (checked by the binder,
// not the loader), and never shows an unused default.
func TestLintNamesPlaceholders(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `spring.cloud.stream:
  function:
    definition: log
  bindings:
    log-in-0:
      destination: orders
      group: g
      consumer:
        max-attempts: ${ATTEMPTS:3}
  rabbit:
    binder:
      heartbeat: ${HB:secret-default}
      connection-timeout: ${CT:5s}
`})
	r := runIn(t, dir, []string{"ATTEMPTS=abc", "CT=soon"}, "lint")
	if r.code == exitOK {
		t.Fatalf("lint exited 0:\n%s", r.stdout)
	}
	for _, want := range []string{
		`stream.bindings.log-in-0.consumer.max-attempts: expected an integer, got "abc"; value from ${ATTEMPTS}`,
		`stream.rabbit.binder.heartbeat: want a duration such as 250ms or 10s, or a number of milliseconds, got "secret-default"; value from ${HB}`,
		`stream.rabbit.binder.connection-timeout:`,
		`; value from ${CT}`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lint output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestLintProfileTypoNamesTheFlag: a --profile that no file sets anything
// for (a typo) is a warning at the flag, not at a key of the files.
func TestLintProfileTypoNamesTheFlag(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": "stream:\n  function:\n    definition: work\n"})
	r := runIn(t, dir, nil, "lint", "--profile", "rabit")
	want := `--profile: warning: profile "rabit" is active but matches no configuration: no profile file`
	if r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Fatalf("exit %d, stdout %q; want a line starting %q", r.code, r.stdout, want)
	}
	r = runIn(t, dir, nil, "lint", "--profile", "rabit", "--format", "github")
	if !strings.HasPrefix(r.stdout, "::warning::--profile: profile") {
		t.Fatalf("github format: %q", r.stdout)
	}
	r = runIn(t, dir, []string{"STREAM_PROFILES_ACTIVE=rabit"}, "lint")
	if !strings.HasPrefix(r.stdout, "env STREAM_PROFILES_ACTIVE: ") {
		t.Fatalf("from the environment: %q", r.stdout)
	}
}

// On NATS a partitioned consumer's instances read only the partitions
// below its NATS partition-count (default instance-count), and no
// partitioned consumer reads unpartitioned messages: lint says so as it
// does for RabbitMQ.
func TestLintPartitionsNATS(t *testing.T) {
	producer := `
stream:
  function:
    definition: emit;emitPlain
  default-binder: nats
  bindings:
    emit-out-0:
      destination: inventory
      producer:
        partition-key-expression: payload.id
        partition-count: 4
    emitPlain-out-0:
      destination: tasks
`
	consumer := `
stream:
  function:
    definition: work;task;wide
  default-binder: nats
  bindings:
    work-in-0:
      destination: inventory
      group: workers
      consumer:
        partitioned: true
        instance-count: 2
    wide-in-0:
      destination: inventory
      group: wide
      consumer:
        partitioned: true
        instance-count: 2
    task-in-0:
      destination: tasks
      group: taskers
      consumer:
        partitioned: true
        instance-count: 1
  nats:
    bindings:
      wide-in-0:
        consumer:
          partition-count: 4
`
	dir := writeFiles(t, map[string]string{"producer/application.yaml": producer, "consumer/application.yaml": consumer})
	r := runIn(t, dir, nil, "lint", "producer", "consumer")
	if r.code != exitFailure {
		t.Errorf("exit status %d, want 1", r.code)
	}
	assertLines(t, r.lines(), []string{
		`consumer/application.yaml:12: stream.bindings.work-in-0.consumer.instance-count: is 2, but producer/emit-out-0 (producer/application.yaml:7) sends to inventory with partition-count 4: on NATS the instances read only the partitions below the consumer's NATS partition-count (2; default instance-count), so partitions 2..3 reach no instance`,
		`consumer/application.yaml:23: stream.bindings.task-in-0.consumer.partitioned: is true, but producer/emitPlain-out-0 (producer/application.yaml:12) sends to tasks unpartitioned: on NATS a partitioned consumer reads only the partition subjects tasks.<p>, so no instance receives its messages`,
	})
}

// NATS destinations that the binder cannot bind: not a subject (a space,
// a wildcard), or one another's prefix at a '.'.
func TestLintNATSDestinations(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `
stream:
  function:
    definition: emit;work;all;eu
  default-binder: nats
  bindings:
    emit-out-0:
      destination: orders eu
    work-in-0:
      destination: "orders.*"
      group: g
    all-out-0:
      destination: x.orders
    eu-in-0:
      destination: x.orders.eu
      group: g
`})
	r := runIn(t, dir, nil, "lint")
	if r.code != exitFailure {
		t.Errorf("exit status %d, want 1", r.code)
	}
	assertLines(t, r.lines(), []string{
		`application.yaml:8: stream.bindings.emit-out-0.destination: destination "orders eu": white space or control character ' ' (a NATS destination is a subject: tokens of printable characters other than * and >, separated by '.')`,
		`application.yaml:10: stream.bindings.work-in-0.destination: destination "orders.*": wildcards (* and >) are not allowed (a NATS destination is a subject: tokens of printable characters other than * and >, separated by '.')`,
		`application.yaml:15: stream.bindings.eu-in-0.destination: x.orders.eu overlaps the NATS destination x.orders (all-out-0 (application.yaml:12)): the stream of x.orders captures x.orders.> (its partitions), which holds x.orders.eu's subjects, so the second of them to bind fails; rename one`,
	})
}

// TestLintRetryDelays: lint accepts consumer.retry-delays where the
// binder carries them out (in process, Kafka, RabbitMQ) as the app does,
// and refuses it where the binder does not (NATS, Redis). It refused it
// on every binder: its stand-in binder hid the binder's DelayedRetries.
func TestLintRetryDelays(t *testing.T) {
	for _, tc := range []struct {
		binder, section, problem string
	}{
		{"memory", "", ""},
		{"kafka", "\n  kafka:\n    binder:\n      brokers: 127.0.0.1:1", ""},
		{"rabbit", "\n  rabbit:\n    binder:\n      addresses: 127.0.0.1:1", ""},
		{"nats", "\n  nats:\n    binder:\n      servers: nats://127.0.0.1:1", "does not support non-blocking retries"},
		{"redis", "\n  redis:\n    binder:\n      address: 127.0.0.1:1", "does not support non-blocking retries"},
	} {
		t.Run(tc.binder, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"application.yaml": `stream:
  function:
    definition: work
  default-binder: ` + tc.binder + tc.section + `
  bindings:
    work-in-0:
      destination: jobs
      group: workers
      consumer:
        retry-delays: 1s,5s
`})
			r := runIn(t, dir, nil, "lint")
			if tc.problem == "" {
				if r.code != exitOK || r.stdout != "" {
					t.Errorf("exit status %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
				}
				return
			}
			if r.code == exitOK || !strings.Contains(r.stdout, "stream.bindings.work-in-0.consumer.retry-delays") || !strings.Contains(r.stdout, tc.problem) {
				t.Errorf("exit status %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, tc.problem)
			}
		})
	}
}

// A producer binding used only through the bridge (SCSt's StreamBridge:
// configured under stream.bindings, in no function and not listed in
// stream.output-bindings) is checked against the consumers too; the
// partitioning trial found lint silent about its partitions no instance
// reads.
func TestLintBridgeOnlyProducer(t *testing.T) {
	producer := `
stream:
  function:
    definition: ""
  default-binder: rabbit
  bindings:
    orders:
      destination: orders
      producer:
        partition-key-expression: headers['k']
        partition-count: 4
`
	consumer := `
stream:
  function:
    definition: work
  default-binder: rabbit
  bindings:
    work-in-0:
      destination: orders
      group: g
      consumer:
        partitioned: true
        instance-count: 2
`
	dir := writeFiles(t, map[string]string{"producer/application.yaml": producer, "consumer/application.yaml": consumer})
	r := runIn(t, dir, nil, "lint", "producer", "consumer")
	if r.code != exitFailure {
		t.Errorf("exit status %d, want 1", r.code)
	}
	assertLines(t, r.lines(), []string{
		`consumer/application.yaml:12: stream.bindings.work-in-0.consumer.instance-count: is 2, but producer/orders (producer/application.yaml:7) sends to orders with partition-count 4: on RabbitMQ partition p goes to the queue of instance p, so partitions 2..3 reach no instance`,
	})
}
