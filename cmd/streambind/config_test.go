package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigDemoGolden(t *testing.T) {
	dir := shopDir(t)
	r := runIn(t, dir, []string{"STREAM_BINDINGS_CHARGEPAYMENT_IN_0_CONSUMER_CONCURRENCY=5"}, "config", "--profile", "kafka", "shop")
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
	}
	p := filepath.Join("testdata", "config", "shop-kafka.yaml")
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != string(want) {
		t.Errorf("%s is not current (go test -run %s -update rewrites it); got:\n%s", p, t.Name(), r.stdout)
	}
}

// configEntries runs config --format json and returns its entries by key.
func configEntries(t *testing.T, dir string, env []string, args ...string) (map[string]configEntry, result) {
	t.Helper()
	r := runIn(t, dir, env, append([]string{"config", "--format", "json"}, args...)...)
	var entries []configEntry
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		t.Fatalf("%v in %q (stderr %q)", err, r.stdout, r.stderr)
	}
	m := map[string]configEntry{}
	for _, e := range entries {
		m[e.Key] = e
	}
	return m, r
}

func TestConfigOrigins(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"svc/application.yaml": `stream:
  function:
    definition: work
  default:
    consumer:
      max-attempts: 5
  bindings:
    work-in-0:
      destination: ${TOPIC:jobs}
      group: workers
`,
		"svc/application-prod.yaml": `stream:
  bindings:
    work-in-0:
      consumer:
        concurrency: 4
`,
	})
	env := []string{"STREAM_BINDINGS_WORK_IN_0_GROUP=night-shift", "TOPIC=tasks"}
	m, r := configEntries(t, dir, env, "--profile", "prod", "svc")
	if r.code != exitOK {
		t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
	}
	for key, want := range map[string]configEntry{
		"stream.bindings.work-in-0.destination":           {Value: "tasks", Origin: "svc/application.yaml:9"},
		"stream.bindings.work-in-0.group":                 {Value: "night-shift", Origin: "env STREAM_BINDINGS_WORK_IN_0_GROUP"},
		"stream.bindings.work-in-0.consumer.concurrency":  {Value: float64(4), Origin: "svc/application-prod.yaml:5"},
		"stream.bindings.work-in-0.consumer.max-attempts": {Value: float64(5), Origin: "stream.default at svc/application.yaml:6"},
		"stream.bindings.work-in-0.consumer.dlq":          {Value: false, Origin: "default"},
		// No binder chosen or declared: the app's code decides (the one
		// binder type it registers), which config cannot see.
		"stream.bindings.work-in-0.binder":     {Value: nil, Origin: "stream.default-binder " + notSetByConfig},
		"stream.default-binder":                {Value: nil, Origin: notSetByConfig},
		"stream.shutdown-timeout":              {Value: "10s", Origin: "default"},
		"stream.default.consumer.max-attempts": {Value: float64(5), Origin: "svc/application.yaml:6"},
	} {
		got, ok := m[key]
		if !ok {
			t.Errorf("%s missing", key)
			continue
		}
		if got.Value != want.Value || got.Origin != want.Origin {
			t.Errorf("%s = %v (%s), want %v (%s)", key, got.Value, got.Origin, want.Value, want.Origin)
		}
	}
}

const notSetByConfig = "not set: the app's code decides (the one binder type it registers; with several it fails to start)"

// The binder of the bindings that name none, as the app decides it
// (stream.DefaultBinderOf), with where that comes from.
func TestConfigDefaultBinder(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"one/application.yaml": "stream:\n  binders:\n    main:\n      type: rabbit\n  bindings:\n    work-in-0:\n      group: g\n",
		"set/application.yaml": "stream:\n  default-binder: Kafka\n  bindings:\n    work-in-0:\n      group: g\n",
		"two/application.yaml": "stream:\n  binders:\n    a:\n      type: rabbit\n    b:\n      type: kafka\n  bindings:\n    work-in-0:\n      group: g\n",
	})
	for _, tc := range []struct {
		dir                  string
		code                 int
		def, defOrigin       any
		binder, binderOrigin any
	}{
		{"one", exitOK, "main", "default (the one binder declared under stream.binders)", "main", "stream.default-binder default (the one binder declared under stream.binders)"},
		{"set", exitOK, "Kafka", "set/application.yaml:2", "Kafka", "stream.default-binder at set/application.yaml:2"},
		{"two", exitFailure, nil, "not set: 2 binders are declared under stream.binders (a, b): set stream.default-binder to the one the bindings that name no binder use", nil, ""},
	} {
		m, r := configEntries(t, dir, nil, tc.dir)
		if r.code != tc.code {
			t.Errorf("%s: exit status %d, want %d (stderr %q)", tc.dir, r.code, tc.code, r.stderr)
		}
		if e := m["stream.default-binder"]; e.Value != tc.def || e.Origin != tc.defOrigin {
			t.Errorf("%s: stream.default-binder = %v (%s), want %v (%s)", tc.dir, e.Value, e.Origin, tc.def, tc.defOrigin)
		}
		if tc.binderOrigin == "" {
			continue // the binding is not bound: the app fails
		}
		if e := m["stream.bindings.work-in-0.binder"]; e.Value != tc.binder || e.Origin != tc.binderOrigin {
			t.Errorf("%s: binder = %v (%s), want %v (%s)", tc.dir, e.Value, e.Origin, tc.binder, tc.binderOrigin)
		}
	}
}

// The Spring Boot connection settings show where the app uses them: under
// the binder-type section, as every binder of the type gets them
// (stream.BinderSettingsOf), whether stream.default-binder is set or not;
// a key the section sets wins; secrets stay redacted.
func TestConfigBootConnectionSettings(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"kafka/application.yaml":  "spring:\n  kafka:\n    bootstrap-servers: k1:9092,k2:9092\n    producer:\n      acks: all\n  cloud:\n    function:\n      definition: work\n    stream:\n      bindings:\n        work-in-0: { destination: jobs, group: g }\n",
		"rabbit/application.yaml": "spring:\n  rabbitmq:\n    host: rb\n    password: hunter2\n  cloud.stream:\n    default-binder: rabbit\n    rabbit:\n      binder:\n        addresses: own:5672\n",
	})
	for _, tc := range []struct {
		dir  string
		want map[string]configEntry
	}{
		{"kafka", map[string]configEntry{
			"stream.kafka.binder.brokers":                  {Value: "k1:9092,k2:9092", Origin: "kafka/application.yaml:3 (spring.kafka.bootstrap-servers)"},
			"stream.kafka.binder.producer-properties.acks": {Value: "all", Origin: "kafka/application.yaml:5 (spring.kafka.producer.acks)"},
		}},
		{"rabbit", map[string]configEntry{
			"stream.rabbit.binder.addresses": {Value: "own:5672", Origin: "rabbit/application.yaml:9"},
			"stream.rabbit.binder.password":  {Value: "******", Origin: "rabbit/application.yaml:4 (spring.rabbitmq.password)"},
		}},
	} {
		m, r := configEntries(t, dir, nil, tc.dir)
		if r.code != exitOK {
			t.Errorf("%s: exit status %d (stderr %q)", tc.dir, r.code, r.stderr)
		}
		for k, want := range tc.want {
			if e := m[k]; e.Value != want.Value || e.Origin != want.Origin {
				t.Errorf("%s: %s = %v (%s), want %v (%s)", tc.dir, k, e.Value, e.Origin, want.Value, want.Origin)
			}
		}
		if r := runIn(t, dir, nil, "config", tc.dir); strings.Contains(r.stdout, "hunter2") {
			t.Errorf("%s: the password in the output:\n%s", tc.dir, r.stdout)
		}
	}
}

func TestConfigRedactsSecrets(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `stream:
  function:
    definition: work
  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
      environment:
        addresses: ${ADDR}
        username: app
        password: ${RABBIT_PASSWORD}
  bindings:
    work-in-0:
      group: g
myapp:
  api-key: k-12345
  db-url: postgres://app:pg-pass@db/app
  sasl.jaas.config: org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="jaas-pass";
`})
	env := []string{"ADDR=amqp://app:amqp-pass@h:5672/", "RABBIT_PASSWORD=r-pass"}
	for _, format := range []string{"yaml", "json"} {
		r := runIn(t, dir, env, "config", "--format", format)
		if r.code != exitOK {
			t.Fatalf("%s: exit status %d, stderr %q", format, r.code, r.stderr)
		}
		for _, secret := range []string{"amqp-pass", "r-pass", "k-12345", "pg-pass", "jaas-pass"} {
			if strings.Contains(r.stdout, secret) {
				t.Errorf("%s: secret %q in the output:\n%s", format, secret, r.stdout)
			}
		}
		if !strings.Contains(r.stdout, "amqp://app:******@h:5672/") {
			t.Errorf("%s: the address lost more than its password:\n%s", format, r.stdout)
		}
	}
	m, _ := configEntries(t, dir, env)
	// A key with dots of its own stays one key.
	if e, ok := m["myapp.sasl.jaas.config"]; !ok || e.Value != "******" || e.Origin != "application.yaml:18" {
		t.Errorf("myapp.sasl.jaas.config: %+v", e)
	}
	r := runIn(t, dir, env, "config")
	if !strings.Contains(r.stdout, "  sasl.jaas.config: '******' # application.yaml:18\n") {
		t.Errorf("YAML:\n%s", r.stdout)
	}
}

func TestConfigUsageAndErrors(t *testing.T) {
	r := runIn(t, "testdata/lint", nil, "config", "valid", "broken")
	if r.code != exitUsage {
		t.Errorf("two paths: exit status %d, want 2", r.code)
	}
	r = runIn(t, "testdata/lint", nil, "config", "--format", "toml", "valid")
	if r.code != exitUsage {
		t.Errorf("--format toml: exit status %d, want 2", r.code)
	}
	r = runIn(t, "testdata/lint", nil, "config", "--help")
	if r.code != exitOK || !strings.Contains(r.stdout, "streambind config --profile kafka") {
		t.Errorf("help: exit status %d, stdout %q", r.code, r.stdout)
	}
	r = runIn(t, "testdata/lint", nil, "config", "broken")
	if r.code != exitFailure || !strings.Contains(r.stdout, "stream:") ||
		!strings.Contains(r.stderr, `broken/application.yaml:48: logging.level: want trace, debug, info, warn, error, fatal or off (any case), got "loud"`) {
		t.Errorf("broken: exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// A directory holding only application.properties (and a profile's
// .properties file) is a service, as config.Load reads it.
func TestConfigAndLintPropertiesOnly(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"svc/application.properties": "stream.function.definition=work\n" +
			"stream.bindings.work-in-0.destination=jobs\n" +
			"stream.bindings.work-in-0.group=workers\n",
		"svc/application-prod.properties": "stream.bindings.work-in-0.consumer.concurrency=4\n",
		"bad/application.properties":      "stream.function.definition=work\nlogging.level=loud\n",
	})
	m, r := configEntries(t, dir, nil, "--profile", "prod", "svc")
	if r.code != exitOK {
		t.Fatalf("config: exit status %d, stderr %q", r.code, r.stderr)
	}
	for key, want := range map[string]string{
		"stream.bindings.work-in-0.destination":          "svc/application.properties:2",
		"stream.bindings.work-in-0.group":                "svc/application.properties:3",
		"stream.bindings.work-in-0.consumer.concurrency": "svc/application-prod.properties:1",
	} {
		if got := m[key].Origin; got != want {
			t.Errorf("%s: origin %q, want %q", key, got, want)
		}
	}
	if r := runIn(t, dir, nil, "lint", "--profile", "prod", "svc"); r.code != exitOK {
		t.Errorf("lint svc: exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := runIn(t, dir, nil, "lint", "bad"); r.code != exitFailure || !strings.Contains(r.stdout+r.stderr, "bad/application.properties:2: logging.level") {
		t.Errorf("lint bad: exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// config lists every binding the app binds, those of a function no binding
// of which is configured too (saying on what they depend), with every
// effective setting, typed: a .properties file's "true" is a boolean.
func TestConfigEveryBindingTyped(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.properties": `spring.cloud.function.definition=toUpper|addTax;sink
spring.cloud.stream.default-binder=rabbit
spring.cloud.stream.bindings.toUpper|addTax-in-0.group=g
spring.cloud.stream.bindings.toUpper|addTax-in-0.consumer.default-retryable=false
spring.cloud.stream.bindings.toUpper|addTax-in-0.consumer.retryable-exceptions[java.lang.IllegalStateException]=true
spring.cloud.stream.bindings.toUpper|addTax-in-0.consumer.header-mode=none
spring.cloud.stream.rabbit.bindings.toUpper|addTax-in-0.consumer.republish-to-dlq=true
spring.cloud.stream.rabbit.bindings.toUpper|addTax-in-0.consumer.prefetch=25
`})
	m, r := configEntries(t, dir, nil)
	if r.code != exitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	in := "stream.bindings.toUpper|addTax-in-0."
	for key, want := range map[string]any{
		in + "consumer.default-retryable":                                      false,
		in + "consumer.retryable-exceptions.java.lang.IllegalStateException":   true,
		in + "consumer.header-mode":                                            "none",
		in + "consumer.use-native-decoding":                                    false,
		in + "consumer.retry-delays":                                           []any{},
		"stream.bindings.sink-in-0.consumer.header-mode":                       "headers",
		"stream.bindings.sink-in-0.consumer.default-retryable":                 true,
		"stream.bindings.sink-in-0.destination":                                "sink-in-0",
		"stream.bindings.sink-out-0.producer.use-native-encoding":              false,
		"stream.bindings.sink-out-0.producer.header-mode":                      "headers",
		"stream.rabbit.bindings.toUpper|addTax-in-0.consumer.republish-to-dlq": true,
		"stream.rabbit.bindings.toUpper|addTax-in-0.consumer.prefetch":         float64(25),
	} {
		e, ok := m[key]
		if !ok {
			t.Errorf("%s not listed", key)
			continue
		}
		got, _ := json.Marshal(e.Value)
		w, _ := json.Marshal(want)
		if string(got) != string(w) {
			t.Errorf("%s = %s, want %s", key, got, w)
		}
	}
	if o := m["stream.bindings.sink-in-0.destination"].Origin; !strings.Contains(o, "bound if sink is a function or a consumer") {
		t.Errorf("sink-in-0's destination origin %q", o)
	}
}

// Wording: a zero duration that stands for "not set" says what to write
// for the shortest wait; MANUAL ack-mode says why it is refused.
func TestZeroAndAckModeWording(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `stream:
  default-binder: kafka
  function:
    definition: sink
  bindings:
    sink-in-0:
      group: g
      consumer:
        back-off-initial-interval: 0
  kafka:
    bindings:
      sink-in-0:
        consumer:
          ack-mode: MANUAL
`})
	r := runIn(t, dir, nil, "lint")
	for _, want := range []string{
		`consumer.back-off-initial-interval: must not be 0: 0 stands for "not set" (leave the key out to get the default; for the shortest wait, 1ms)`,
		"MANUAL is not supported: streambind has no manual acknowledgment; the binder commits a message's offset once its handler returned nil (at least once)",
	} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("lint does not say %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
}

// A value filled from a placeholder is a string once resolved, which the
// app reads typed: config prints it typed, as it prints a .properties
// file's values (true, 25; "007" and "1e3" stay strings), in every section
// printed as configured, whether the environment or the default fills it;
// the origin stays the line that holds the placeholder.
func TestConfigPlaceholdersTyped(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `stream:
  function: {definition: upper}
  bindings: {upper-in-0: {destination: "${DEST:orders}", group: g}}
  binders:
    main:
      type: kafka
      environment:
        auto-add-partitions: ${AAP:false}
        replication-factor: ${RF:2}
  kafka:
    binder:
      brokers: localhost:9092
      auto-create-topics: ${AUTO:true}
      min-partition-count: ${MPC:3}
      client-id: "${CLIENT:007}"
      configuration: {linger.ms: "5", acks: '${ACKS:1}'}
spring:
  kafka:
    producer:
      retries: ${RETRIES:4}
myapp:
  enabled: ${ENABLED:false}
  password: ${PW:12345}
  topic: ${TOPIC:orders}
  ratio: ${RATIO:1e3}
  quoted: "true"
  limit: &limit ${LIMIT:10}
  again: *limit
`})
	t.Setenv("MPC", "5")
	t.Setenv("ENABLED", "TRUE")
	t.Setenv("RF", "3")
	t.Setenv("DEST", "42")
	t.Setenv("PW", "false")
	m, r := configEntries(t, dir, os.Environ())
	if r.code != exitOK {
		t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
	}
	for key, want := range map[string]configEntry{
		"stream.kafka.binder.auto-create-topics":              {Value: true, Origin: "application.yaml:13"},
		"stream.kafka.binder.min-partition-count":             {Value: float64(5), Origin: "application.yaml:14"},
		"stream.kafka.binder.client-id":                       {Value: "007", Origin: "application.yaml:15"},
		"stream.kafka.binder.configuration.linger.ms":         {Value: "5", Origin: "application.yaml:16"},
		"stream.kafka.binder.configuration.acks":              {Value: float64(1), Origin: "application.yaml:16"},
		"stream.kafka.binder.producer-properties.retries":     {Value: float64(4), Origin: "application.yaml:20 (spring.kafka.producer.retries)"},
		"stream.binders.main.environment.auto-add-partitions": {Value: false, Origin: "application.yaml:8"},
		"stream.binders.main.environment.replication-factor":  {Value: float64(3), Origin: "application.yaml:9"},
		"spring.kafka.producer.retries":                       {Value: float64(4), Origin: "application.yaml:20"},
		"myapp.enabled":                                       {Value: true, Origin: "application.yaml:22"},
		"myapp.password":                                      {Value: "******", Origin: "application.yaml:23"},
		"myapp.topic":                                         {Value: "orders", Origin: "application.yaml:24"},
		"myapp.ratio":                                         {Value: "1e3", Origin: "application.yaml:25"},
		"myapp.quoted":                                        {Value: "true", Origin: "application.yaml:26"},
		"myapp.limit":                                         {Value: float64(10), Origin: "application.yaml:27"},
		"myapp.again":                                         {Value: float64(10), Origin: "application.yaml:28"},
		"stream.bindings.upper-in-0.destination":              {Value: "42", Origin: "application.yaml:3"},
	} {
		got, ok := m[key]
		if !ok {
			t.Errorf("%s missing", key)
			continue
		}
		if got.Value != want.Value || got.Origin != want.Origin {
			t.Errorf("%s = %#v (%s), want %#v (%s)", key, got.Value, got.Origin, want.Value, want.Origin)
		}
	}
	// The YAML output: typed, with the origin after each value.
	y := runIn(t, dir, os.Environ(), "config").stdout
	for _, want := range []string{
		"      auto-create-topics: true # application.yaml:13\n",
		"      min-partition-count: 5 # application.yaml:14\n",
		"      client-id: \"007\" # application.yaml:15\n",
		"  enabled: true # application.yaml:22\n",
		"  topic: orders # application.yaml:24\n",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("YAML output lacks %q:\n%s", want, y)
		}
	}
}

// A binding setting that is invalid prints as written, its problem after
// its origin, not as the default the app would never use.
func TestConfigShowsInvalidBindingValues(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `stream:
  function:
    definition: charge
  bindings:
    charge-in-0:
      destination: orders
      group: payments
      consumer:
        concurrency: lots
        maxAttempts: ${MAX_ATTEMPTS:four}
`})
	r := runIn(t, dir, nil, "config")
	if r.code == exitOK {
		t.Fatalf("config exited 0 for an invalid configuration")
	}
	for _, want := range []string{
		`concurrency: lots # application.yaml:9 (invalid: expected an integer, got "lots")`,
		`max-attempts: four # application.yaml:10 (invalid: expected an integer, got "four"; value from ${MAX_ATTEMPTS})`,
		"back-off-multiplier: 2 # default",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

// config says which poller keys a polled supplier's schedule uses, and
// when a cron schedule polls next; the application-wide poller, read from
// spring.integration.poller, names the key it was written at.
func TestConfigPollerSchedule(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": "spring.cloud.function.definition: tick;tock\n" +
		"spring.integration.poller.fixed-rate: 1500\n" +
		"spring.cloud.stream.bindings.tick-out-0.producer.poller:\n  cron: '0 0 9-17 * * MON-FRI'\n  initial-delay: 2s\n"})
	entries, r := configEntries(t, dir, nil)
	if r.code != exitOK {
		t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
	}
	for key, want := range map[string]string{
		"stream.bindings.tick-out-0.producer.poller.cron":          "application.yaml:4; next poll ",
		"stream.bindings.tick-out-0.producer.poller.fixed-delay":   "default (not used: cron is set)",
		"stream.bindings.tick-out-0.producer.poller.initial-delay": "application.yaml:5 (not used with cron)",
		"stream.bindings.tock-out-0.producer.poller.fixed-rate":    "stream.poller at application.yaml:2 (spring.integration.poller.fixed-rate)",
		"stream.bindings.tock-out-0.producer.poller.fixed-delay":   "default (not used: fixed-rate is set)",
		"stream.poller.fixed-rate":                                 "application.yaml:2 (spring.integration.poller.fixed-rate)",
	} {
		e, ok := entries[key]
		if !ok {
			t.Errorf("%s: not shown", key)
			continue
		}
		if !strings.HasPrefix(e.Origin, want) {
			t.Errorf("%s: origin %q, want it to start %q", key, e.Origin, want)
		}
	}
	// tick-out-0 has a poller of its own: the application-wide one is not
	// its (SCSt builds it from the binding's PollerProperties alone).
	if e, ok := entries["stream.bindings.tick-out-0.producer.poller.fixed-rate"]; ok {
		t.Errorf("tick-out-0 shows the application-wide fixed-rate: %+v", e)
	}
	next := strings.TrimPrefix(entries["stream.bindings.tick-out-0.producer.poller.cron"].Origin, "application.yaml:4; next poll ")
	ts, err := time.ParseInLocation("2006-01-02 15:04:05 MST", next, time.Local)
	if err != nil || ts.Hour() < 9 || ts.Hour() > 17 || ts.Minute() != 0 || ts.Second() != 0 || ts.Weekday() == time.Saturday || ts.Weekday() == time.Sunday {
		t.Errorf("next poll %q (%v): not a whole hour from 9 to 17 on a weekday", next, err)
	}
}

// config's YAML starts with the active profiles (a group expanded) and the
// files read, in the order merged: what Spring Boot logs at start-up, and
// what a user checks first when a value is not the one expected.
func TestConfigHeaderProfilesAndFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml":        "spring.profiles.group.prod: [kafka, metrics]\nspring.cloud.function.definition: tick\n",
		"application-kafka.yaml":  "a: 1\n",
		"config/application.yaml": "b: 2\n",
	})
	r := runIn(t, dir, []string{"SPRING_PROFILES_ACTIVE=prod"}, "config")
	if r.code != exitOK {
		t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
	}
	head := strings.SplitN(r.stdout, "\n", 3)
	if len(head) < 3 || head[0] != "# active profiles: prod, kafka, metrics" ||
		head[1] != "# files read, later ones winning: application.yaml, config/application.yaml, application-kafka.yaml" {
		t.Errorf("output starts\n%s\n%s", head[0], head[1])
	}
}
