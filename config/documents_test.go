package config

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

const multiDoc = `stream:
  bindings:
    x-in-0:
      group: base
---
spring:
  config:
    activate:
      on-profile: kafka
stream:
  default-binder: kafka
  bindings:
    x-in-0:
      group: on-kafka
---
spring.profiles: rabbit        # before Spring Boot 2.4
stream:
  default-binder: rabbit
---
spring.config.activate.on-profile: "!kafka & !rabbit"
stream:
  default-binder: memory
---
spring.config.activate.on-profile: [ "(kafka | rabbit) & prod" ]
stream:
  bindings:
    x-in-0: { consumer: { max-attempts: 9 } }
`

func TestMultiDocumentYAML(t *testing.T) {
	for _, tc := range []struct {
		profiles    []string
		binder      string
		group       string
		maxAttempts int
	}{
		{[]string{}, "memory", "base", 0},
		{[]string{"kafka"}, "kafka", "on-kafka", 0},
		{[]string{"rabbit"}, "rabbit", "base", 0},
		{[]string{"rabbit", "prod"}, "rabbit", "base", 9},
		{[]string{"prod"}, "memory", "base", 0},
	} {
		t.Run(strings.Join(tc.profiles, ","), func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"application.yaml": multiDoc})
			l := mustLoad(t, Options{Dir: dir, Profiles: tc.profiles, Data: []byte(multiDoc)})
			c := l.Stream
			if c.DefaultBinder != tc.binder || c.Bindings["x-in-0"].Group != tc.group || c.Bindings["x-in-0"].Consumer.MaxAttempts != tc.maxAttempts {
				t.Fatalf("binder %q group %q max-attempts %d", c.DefaultBinder, c.Bindings["x-in-0"].Group, c.Bindings["x-in-0"].Consumer.MaxAttempts)
			}
			if tc.group == "on-kafka" {
				if o := c.Origins["stream.bindings.x-in-0.group"]; o != "application.yaml:14" {
					t.Errorf("origin %q, want application.yaml:14", o)
				}
			}
			// The condition keys are not configuration.
			if sp, ok := l.Raw["spring"].(map[string]any); ok {
				t.Errorf("spring kept in Raw: %v", sp)
			}
		})
	}
}

func TestProfilesActiveInFile(t *testing.T) {
	files := map[string]string{
		"application.yaml":       "spring.profiles.active: kafka\nstream:\n  default-binder: memory\n",
		"application-kafka.yaml": "stream:\n  default-binder: kafka\n",
		"application-other.yaml": "stream:\n  default-binder: other\n",
	}
	dir := writeFiles(t, files)
	l := mustLoad(t, Options{Dir: dir})
	if l.Stream.DefaultBinder != "kafka" || !reflect.DeepEqual(l.Profiles, []string{"kafka"}) {
		t.Fatalf("binder %q profiles %q", l.Stream.DefaultBinder, l.Profiles)
	}
	// The environment wins over the file.
	l = mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_PROFILES_ACTIVE=other"}})
	if l.Stream.DefaultBinder != "other" || !reflect.DeepEqual(l.Profiles, []string{"other"}) {
		t.Fatalf("binder %q profiles %q", l.Stream.DefaultBinder, l.Profiles)
	}
	// A profile's document activates the profile's file.
	dir = writeFiles(t, map[string]string{
		"application.yaml":       "spring:\n  profiles:\n    active: [kafka]\n    include: extra\n",
		"application-kafka.yaml": "stream:\n  default-binder: kafka\n",
		"application-extra.yaml": "stream:\n  shutdown-timeout: 3s\n",
	})
	l = mustLoad(t, Options{Dir: dir})
	if !reflect.DeepEqual(l.Profiles, []string{"extra", "kafka"}) || l.Stream.ShutdownTimeout.String() != "3s" {
		t.Fatalf("profiles %q shutdown-timeout %v", l.Profiles, l.Stream.ShutdownTimeout)
	}
}

func TestProfilesActiveRefusedWhereSpringRefusesIt(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml":       "stream: {}\n---\nspring.config.activate.on-profile: a\nspring.profiles.active: b\n",
		"application-a.yaml":     "x: 1\n",
		"application-b.yaml":     "spring:\n  profiles:\n    active: c\n",
		"application-c.yaml":     "x: 2\n",
		"application-c.yml.orig": "",
	})
	es := configErrors(t, Options{Dir: dir, Profiles: []string{"a", "b"}})
	var got []string
	for _, e := range es {
		got = append(got, e.Error())
	}
	want := []string{
		"application.yaml:4: spring.profiles.active cannot be set in a document activated by a profile",
		"application-b.yaml:3: spring.profiles.active cannot be set in a profile-specific file",
	}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want it to start %q", i, got[i], want[i])
		}
	}
}

func TestProfileExpressions(t *testing.T) {
	for _, tc := range []struct {
		expr   string
		active []string
		want   bool
	}{
		{"a", []string{"a"}, true},
		{"!a", []string{"a"}, false},
		{"!a", nil, true},
		{"a & b", []string{"a"}, false},
		{"a & b", []string{"b", "a"}, true},
		{"a | b", []string{"b"}, true},
		{"(a | b) & !c", []string{"b"}, true},
		{"(a | b) & !c", []string{"b", "c"}, false},
		{"!(a&b)", []string{"a", "b"}, false},
	} {
		e, err := parseProfileExpr(tc.expr)
		if err != nil {
			t.Fatalf("%q: %v", tc.expr, err)
		}
		if got := e.match(tc.active); got != tc.want {
			t.Errorf("%q with %q = %v", tc.expr, tc.active, got)
		}
	}
	for _, bad := range []string{"", "a & b | c", "(a", "a &", "& a", "a)"} {
		if _, err := parseProfileExpr(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestPropertiesFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "stream:\n  default-binder: memory\n  bindings:\n    x-in-0:\n      group: from-yaml\n      destination: orders\n",
		"application.properties": `# SCSt's keys, relaxed
spring.cloud.stream.bindings.x-in-0.group=from-properties
spring.cloud.stream.bindings.x-in-0.consumer.maxAttempts = 5
spring.cloud.stream.bindings.x-out-0.producer.required-groups[0]=a
spring.cloud.stream.bindings.x-out-0.producer.required-groups[1]=\
  b
spring.cloud.stream.binders.k.type: kafka
spring.cloud.stream.binders.k.environment.[bootstrap.servers]=h:9092
myapp.hosts[0]=one
`,
		"application-p.properties": "spring.cloud.stream.default-binder=k\n",
	})
	l := mustLoad(t, Options{Dir: dir, Profiles: []string{"p"}})
	c := l.Stream
	in := c.Bindings["x-in-0"]
	if in.Group != "from-properties" || in.Destination != "orders" || in.Consumer.MaxAttempts != 5 {
		t.Errorf("x-in-0 = %+v", in)
	}
	if got := c.Bindings["x-out-0"].Producer.RequiredGroups; !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("required-groups = %q", got)
	}
	if got := c.Binders["k"].Environment["bootstrap.servers"]; got != "h:9092" {
		t.Errorf("environment = %v", c.Binders["k"].Environment)
	}
	if c.DefaultBinder != "k" {
		t.Errorf("default-binder = %q", c.DefaultBinder)
	}
	if got := l.Raw["myapp"].(map[string]any)["hosts"]; !reflect.DeepEqual(got, []any{"one"}) {
		t.Errorf("myapp.hosts = %v", got)
	}
	for key, want := range map[string]string{
		"stream.bindings.x-in-0.group":                        "application.properties:2",
		"stream.bindings.x-in-0.destination":                  "application.yaml:6",
		"stream.bindings.x-out-0.producer.required-groups[1]": "application.properties:5",
		"stream.default-binder":                               "application-p.properties:1",
	} {
		if got := c.Origins[key]; got != want {
			t.Errorf("origin of %s = %q, want %q", key, got, want)
		}
	}
	if !reflect.DeepEqual(l.Files, []string{dir + "/application.yaml", dir + "/application.properties", dir + "/application-p.properties"}) {
		t.Errorf("files %q", l.Files)
	}
}

func TestPropertiesErrors(t *testing.T) {
	for _, tc := range []struct{ name, props, origin, msg string }{
		{"unknown key", "a=1\nspring.cloud.stream.bindings.x-in-0.consumer.max-attemps=3\n", "application.properties:2", "did you mean max-attempts?"},
		{"bad value", "\nstream.bindings.x-in-0.consumer.max-attempts=lots\n", "application.properties:2", `expected an integer, got "lots"`},
		{"list gap", "myapp.hosts[0]=a\nmyapp.hosts[2]=c\n", "application.properties:2", "myapp.hosts[2] is set but myapp.hosts[1] is not"},
		{"list and map", "myapp.hosts[0]=a\nmyapp.hosts.x=c\n", "application.properties:2", "sets it as a list"},
		{"malformed key", "myapp..x=1\n", "application.properties:1", "malformed key: empty key segment"},
		{"bad escape", "a=1\nb=\\u12\n", "application.properties:2", "malformed .properties line"},
		{"placeholder", "stream.default-binder=${NOPE}\n", "application.properties:1", "environment variable NOPE is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(tc.props), Name: "application.properties"})
			if len(es) != 1 || es[0].Origin != tc.origin || !strings.Contains(es[0].Msg, tc.msg) {
				t.Fatalf("got %v\nwant one problem at %s saying %q", es, tc.origin, tc.msg)
			}
		})
	}
}

// .properties messages name the key once, at its line; indices are
// checked as indices; a file that is not UTF-8 is read as ISO-8859-1, as
// Spring Boot reads .properties files; a BOM is dropped.
func TestPropertiesMessagesAndEncodings(t *testing.T) {
	for _, tc := range []struct{ name, props, want string }{
		{"a list and a value", "myapp.hosts[0]=a\nmyapp.hosts=b,c\n",
			"myapp.hosts (application.properties:2): set to a value, but line 1 sets items of it ([n]): give a list one way"},
		{"a value and a list", "myapp.hosts=b,c\nmyapp.hosts[0]=a\n",
			"myapp.hosts[0] (application.properties:2): sets an item of myapp.hosts, which line 1 sets to a value: give a list one way"},
		{"an index too large", "myapp.hosts[99999999999999999999]=a\n",
			"myapp.hosts[99999999999999999999] (application.properties:1): malformed key: list index [99999999999999999999] is too large (at most 9999)"},
		{"a negative index", "myapp.hosts[-1]=a\n",
			"myapp.hosts[-1] (application.properties:1): malformed key: list index [-1]: an index is 0 or more"},
		{"a malformed line", "a=1\nb=\\u12\n", "application.properties:2: malformed .properties line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(tc.props), Name: "application.properties"})
			if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
				t.Fatalf("got %v\nwant one problem starting %q", es, tc.want)
			}
		})
	}
	latin1 := []byte("myapp.city=Z\xfcrich\nmyapp.name=caf\xe9\n")
	l := mustLoad(t, Options{Data: latin1, Name: "application.properties"})
	if m := l.Raw["myapp"].(map[string]any); m["city"] != "Zürich" || m["name"] != "café" {
		t.Errorf("ISO-8859-1: %q", m)
	}
	l = mustLoad(t, Options{Data: []byte("\xef\xbb\xbfstream.default-binder=memory\n"), Name: "application.properties"})
	if l.Stream.DefaultBinder != "memory" {
		t.Errorf(".properties with a BOM: default-binder %q", l.Stream.DefaultBinder)
	}
	l = mustLoad(t, Options{Data: []byte("\xef\xbb\xbfstream:\n  default-binder: memory\n")})
	if l.Stream.DefaultBinder != "memory" {
		t.Errorf("YAML with a BOM: default-binder %q", l.Stream.DefaultBinder)
	}
	es := configErrors(t, Options{Data: []byte("stream:\n  default-binder: memory\nmyapp:\n  city: Z\xfcrich\n")})
	if want := "application.yaml:4: malformed YAML: byte 0xfc at offset 49 is not UTF-8"; len(es) != 1 || !strings.HasPrefix(es[0].Error(), want) {
		t.Errorf("got %v\nwant one problem starting %q", es, want)
	}
}

// A long run of continuation lines is read in linear time (it was
// quadratic: 200,000 lines did not finish in a minute).
func TestPropertiesLongContinuation(t *testing.T) {
	const n = 200_000
	var b strings.Builder
	b.WriteString("myapp.long=a\\\n")
	for range n {
		b.WriteString("  b\\\n")
	}
	b.WriteString("  c\nmyapp.next=d\n")
	l := mustLoad(t, Options{Data: []byte(b.String()), Name: "application.properties"})
	m := l.Raw["myapp"].(map[string]any)
	if got, want := m["long"], "a"+strings.Repeat("b", n)+"c"; got != want {
		t.Errorf("myapp.long is %d bytes, want %d", len(got.(string)), len(want))
	}
	if o := l.Stream.Origins["myapp.next"]; o != fmt.Sprintf("application.properties:%d", n+3) {
		t.Errorf("origin of the next key %q", o)
	}
}

func TestPropertiesDocuments(t *testing.T) {
	props := "stream.default-binder=memory\n#---\nspring.config.activate.on-profile=kafka\nstream.default-binder=kafka\n"
	l := mustLoad(t, Options{Data: []byte(props), Name: "application.properties", Profiles: []string{}})
	if l.Stream.DefaultBinder != "memory" {
		t.Fatalf("default-binder %q", l.Stream.DefaultBinder)
	}
	dir := writeFiles(t, map[string]string{"application-kafka.yaml": "{}\n"})
	l = mustLoad(t, Options{Dir: dir, Data: []byte(props), Name: "application.properties", Profiles: []string{"kafka"}})
	if l.Stream.DefaultBinder != "kafka" || l.Stream.Origins["stream.default-binder"] != "application.properties:4" {
		t.Fatalf("default-binder %q at %s", l.Stream.DefaultBinder, l.Stream.Origins["stream.default-binder"])
	}
}

func TestPlaceholdersReferToKeys(t *testing.T) {
	yaml := `spring:
  application:
    name: payments
  cloud:
    stream:
      bindings:
        x-in-0:
          group: ${spring.application.name}
          destination: ${myapp.topic}-${server.port:8080}
myapp:
  topic: orders.${spring.cloud.stream.bindings.x-in-0.group}
  retries: 4
  hosts: [a, b]
stream:
  default:
    consumer:
      max-attempts: ${my-app.retries}
  bindings:
    y-in-0:
      destination: ${myapp.hosts[1]}
`
	l := mustLoad(t, Options{Data: []byte(yaml)})
	x := l.Stream.Bindings["x-in-0"]
	if x.Group != "payments" || x.Destination != "orders.payments-8080" {
		t.Errorf("x-in-0 = %+v", x)
	}
	if got := l.Stream.Default.Consumer.MaxAttempts; got != 4 {
		t.Errorf("max-attempts = %d", got)
	}
	if got := l.Stream.Bindings["y-in-0"].Destination; got != "b" {
		t.Errorf("y-in-0 destination = %q", got)
	}
	// The environment first: the variable itself, then the one that
	// stands for the key (as Spring Boot's relaxed binding reads it).
	l = mustLoad(t, Options{Data: []byte(yaml), Env: []string{"SERVER_PORT=9090", "MYAPP_TOPIC=t"}})
	if got := l.Stream.Bindings["x-in-0"].Destination; got != "t-9090" {
		t.Errorf("destination = %q", got)
	}
}

func TestPlaceholderProblems(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"cycle", "a: ${b}\nb: x${c}\nc: ${a}\nstream:\n  default-binder: ${a}\n",
			[]string{"a (application.yaml:1): placeholder cycle: a → b → c → a; set a, b or c to a value without a placeholder"}},
		{"self", "stream:\n  default-binder: ${stream.default-binder}\n",
			[]string{"stream.default-binder (application.yaml:2): placeholder cycle: stream.default-binder → stream.default-binder"}},
		{"a key with its own problem", "a: ${NOPE}\nstream:\n  default-binder: ${a}\n",
			[]string{"a (application.yaml:1): environment variable NOPE is not set"}},
		{"unknown key", "stream:\n  default-binder: ${my.binder}\n",
			[]string{"stream.default-binder (application.yaml:2): placeholder ${my.binder}: no configuration key my.binder and no environment variable MY_BINDER is set"}},
		{"a map", "my: { binder: { x: 1 } }\nstream:\n  default-binder: ${my.binder}\n",
			[]string{"stream.default-binder (application.yaml:3): placeholder ${my.binder}: the key my.binder holds a map, not a value"}},
		{"exponential", "a: xxxxxxxxxxxxxxxx\nb: ${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}\nc: ${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}${b}\nd: ${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}${c}\ne: ${d}${d}${d}${d}${d}${d}${d}${d}${d}${d}${d}${d}${d}${d}${d}${d}\nf: ${e}${e}${e}${e}${e}${e}${e}${e}${e}${e}${e}${e}${e}${e}${e}${e}\n",
			[]string{"f (application.yaml:6): the value grows past 1024 KiB"}},
		// Each key refers twice to the next: 2^70 bytes if expanded
		// blindly, past the depth limit so that the size check never
		// fires. Every key is expanded once; the chain is refused
		// before any work.
		{"doubling past the depth limit", doubling(70),
			[]string{"k0 (application.yaml:1): placeholders refer through more than 64 keys (k0 → k1 → k2 → … → k62 → k63 → k64)"}},
		// One chain far past the limit is one problem, not one per 64
		// keys where the walk (in key order) meets the chain again, nor
		// a second one where its last keys double past the size limit.
		{"one long chain", doubling(2000),
			[]string{"k0 (application.yaml:1): placeholders refer through more than 64 keys (k0 → k1 → k2 → … → k62 → k63 → k64)"}},
		{"doubling within the depth limit", doubling(40),
			[]string{"k19 (application.yaml:20): the value grows past 1024 KiB"}},
		{"many copies of a large value", manyCopies(80, 1<<20-100),
			[]string{"k64 (application.yaml:67): placeholders expand the configuration past 64 MiB in all"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(tc.yaml)})
			if len(es) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(es), len(tc.want), es)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(es[i].Error(), w) {
					t.Errorf("problem %d = %q, want it to start %q", i, es[i].Error(), w)
				}
			}
		})
	}
}

// doubling is a file of n keys, k<i> = ${k<i+1>}${k<i+1>}, the last x.
func doubling(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "k%d: ${k%d}${k%d}\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "k%d: x\nstream:\n  default-binder: ${k0}\n", n)
	return b.String()
}

// manyCopies is a file of n keys k<i> each holding a copy of a value of
// size bytes, through a placeholder.
func manyCopies(n, size int) string {
	var b strings.Builder
	b.WriteString("big: " + strings.Repeat("x", size) + "\n")
	b.WriteString("z: 1\n")
	for i := range n {
		fmt.Fprintf(&b, "k%02d: ${big}.\n", i)
	}
	return b.String()
}

// spring.rabbitmq.ssl's key and trust stores are refused at their lines:
// ignored, the binder would trust the system's CAs instead of the store's
// and connect without the client certificate.
func TestSpringBootRabbitStoresRefused(t *testing.T) {
	yaml := `spring:
  rabbitmq:
    host: rabbit.internal
    ssl:
      enabled: true
      key-store: file:/etc/rabbit/client.p12
      key-store-password: hunter2
      trust-store: file:/etc/rabbit/trust.jks
`
	_, err := Load(Options{Data: []byte(yaml)})
	if err == nil {
		t.Fatal("no error for spring.rabbitmq.ssl key and trust stores")
	}
	msg := err.Error()
	for _, want := range []string{
		"spring.rabbitmq.ssl.key-store (application.yaml:6): not supported: the RabbitMQ binder reads PEM files",
		"spring.rabbitmq.ssl.key-store-password (application.yaml:7): not supported",
		"spring.rabbitmq.ssl.trust-store (application.yaml:8): not supported",
		"stream.rabbit.binder.tls.ca-file",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("the store password is in the error:\n%s", msg)
	}
}

func TestSpringBootConnectionNamespaces(t *testing.T) {
	yaml := `spring:
  rabbitmq:
    host: rabbit.internal
    port: 5673
    username: app
    password: secret
    virtual-host: /shop
    requested-heartbeat: 30
    ssl:
      enabled: true
      algorithm: TLSv1.2
    listener:
      simple:
        prefetch: 10
  kafka:
    bootstrap-servers: k1:9092,k2:9092
    consumer:
      group-id: x
`
	var logged strings.Builder
	l := mustLoad(t, Options{Data: []byte(yaml), Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	want := map[string]map[string]any{
		"rabbit": {"addresses": "rabbit.internal:5673", "username": "app", "password": "secret", "virtual-host": "/shop", "tls": true, "heartbeat": "30s"},
		"kafka":  {"brokers": "k1:9092,k2:9092"},
	}
	if !reflect.DeepEqual(l.Stream.ConnectionDefaults, want) {
		t.Errorf("ConnectionDefaults = %v\nwant %v", l.Stream.ConnectionDefaults, want)
	}
	var warned []string
	for _, w := range l.Warnings {
		warned = append(warned, w.Path+" ("+w.Origin+")")
	}
	if wantW := []string{
		"spring.rabbitmq.listener.simple.prefetch (application.yaml:14)",
		"spring.rabbitmq.ssl.algorithm (application.yaml:11)",
		"spring.kafka.consumer.group-id (application.yaml:18)",
	}; !reflect.DeepEqual(warned, wantW) {
		t.Errorf("warnings %q, want %q", warned, wantW)
	}
	if n := strings.Count(logged.String(), "configuration key ignored"); n != 3 {
		t.Errorf("%d warnings logged, want 3:\n%s", n, logged.String())
	}
	if strings.Contains(logged.String(), "secret") {
		t.Errorf("the password was logged:\n%s", logged.String())
	}
	// addresses wins over host and port, as in Spring Boot; the port alone
	// is on localhost.
	l = mustLoad(t, Options{Data: []byte("spring.rabbitmq: { addresses: 'a:1,b:2', host: h }\n"), Logger: discard})
	if got := l.Stream.ConnectionDefaults["rabbit"]["addresses"]; got != "a:1,b:2" || len(l.Warnings) != 1 {
		t.Errorf("addresses %v, warnings %v", got, l.Warnings)
	}
	l = mustLoad(t, Options{Data: []byte("spring.rabbitmq.port: 5674\n"), Logger: discard})
	if got := l.Stream.ConnectionDefaults["rabbit"]["addresses"]; got != "localhost:5674" {
		t.Errorf("addresses %v", got)
	}
}

var discard = slog.New(slog.DiscardHandler)

func TestSCStKeysAdapted(t *testing.T) {
	yaml := `spring:
  cloud:
    stream:
      source: audit;orders
      output-bindings: extra
      poller:
        fixed-delay: 5s
        max-messages-per-poll: 1
        initial-delay: 2s
      function:
        bindings:
          process-in-0: input
          process-out-0: output
      bindings:
        input:
          destination: in
          group: g
        output:
          destination: out
      kafka:
        binder:
          zk-nodes: zk:2181
          brokers: k:9092
        bindings:
          input:
            consumer: { enable-dlq: true }
`
	l := mustLoad(t, Options{Data: []byte(yaml), Logger: discard})
	c := l.Stream
	if p := c.Poller; p.FixedDelay != 5*time.Second || p.MaxMessagesPerPoll != 1 || p.InitialDelay != 2*time.Second {
		t.Errorf("stream.poller = %+v", c.Poller)
	}
	if c.OutputBindings != "extra;audit-out-0;orders-out-0" {
		t.Errorf("output-bindings = %q", c.OutputBindings)
	}
	// The bindings keep the names the file gives them; the app names the
	// functional bindings by them.
	if got, want := c.Function.Bindings, map[string]string{"process-in-0": "input", "process-out-0": "output"}; !reflect.DeepEqual(got, want) {
		t.Errorf("function.bindings = %v, want %v", got, want)
	}
	if n := c.FunctionBindingName("process-in-0"); n != "input" {
		t.Errorf("FunctionBindingName(process-in-0) = %q", n)
	}
	in := c.Binding("input")
	if in.Destination != "in" || in.Group != "g" || !in.Consumer.DLQ || c.Binding("output").Destination != "out" {
		t.Errorf("input = %+v", in)
	}
	if o := c.Origins["stream.bindings.input.group"]; o != "application.yaml:17" {
		t.Errorf("origin %q", o)
	}
	if got := c.Extensions["kafka"].Binder; !reflect.DeepEqual(got, map[string]any{"brokers": "k:9092"}) {
		t.Errorf("kafka binder section %v", got)
	}
	var warned []string
	for _, w := range l.Warnings {
		warned = append(warned, w.Error())
	}
	want := []string{
		"spring.cloud.stream.kafka.binder.zk-nodes (application.yaml:22): ignored: ZooKeeper settings were removed in SCSt 2.0: Kafka clients talk to the brokers only",
	}
	if !reflect.DeepEqual(warned, want) {
		t.Errorf("warnings %q\nwant %q", warned, want)
	}
}

func TestSCStKeysProblems(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"rename clash", "stream:\n  function:\n    bindings: { p-in-0: input }\n  bindings:\n    input: { group: a }\n    p-in-0: { group: b }\n",
			"stream.bindings.input (application.yaml:5): configures p-in-0, which stream.function.bindings renames to input, and stream.bindings.p-in-0 configures it too: use one name"},
		{"two renamed to one", "stream:\n  function:\n    bindings: { p-in-0: input, q-in-0: input }\n",
			"stream.function.bindings.q-in-0 (application.yaml:3): input is already the name of p-in-0"},
		{"unknown poller key", "stream:\n  poller: { fixed-dely: 1s }\n",
			"stream.poller.fixed-dely (application.yaml:2): unknown key of stream.poller"},
		{"unknown key", "stream:\n  bindigns: { x: 1 }\n",
			"stream.bindigns (application.yaml:2): unknown key; did you mean bindings?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(tc.yaml), Logger: discard})
			if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
				t.Fatalf("got %v\nwant one problem starting %q", es, tc.want)
			}
		})
	}
}

// Names keep the case the file gives them (viper lower-cases them) and
// still match case-insensitively; Origins keep lower-case key paths.
func TestNamesKeepTheirCase(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": `spring.cloud.stream:
  default-binder: rabbitBinder
  binders:
    rabbitBinder: { type: rabbit }
  bindings:
    chargePayment-in-0: { group: payment }
  rabbit:
    bindings:
      chargePayment-in-0: { consumer: { prefetch: 5 } }
`,
		"application-p.yaml": "stream:\n  bindings:\n    CHARGEPAYMENT-IN-0: { destination: orders }\n",
	})
	l := mustLoad(t, Options{Dir: dir, Profiles: []string{"p"}, Env: []string{"STREAM_BINDINGS_CHARGEPAYMENT_IN_0_CONSUMER_MAX_ATTEMPTS=4"}})
	c := l.Stream
	b, ok := c.Bindings["chargePayment-in-0"]
	if !ok || b.Group != "payment" || b.Destination != "orders" || b.Consumer.MaxAttempts != 4 || len(c.Bindings) != 1 {
		t.Fatalf("bindings %+v", c.Bindings)
	}
	if _, ok := c.Binders["rabbitBinder"]; !ok {
		t.Errorf("binders %v", c.Binders)
	}
	if _, ok := c.Extensions["rabbit"].Bindings["chargePayment-in-0"]; !ok {
		t.Errorf("rabbit bindings %v", c.Extensions["rabbit"].Bindings)
	}
	if o := c.Origins["stream.bindings.chargepayment-in-0.destination"]; o != "application-p.yaml:3" {
		t.Errorf("origin %q", o)
	}
	es := configErrors(t, Options{Data: []byte("stream:\n  bindings:\n    chargePayment-in-0:\n      consumer: { max-attemps: 3 }\n")})
	if len(es) != 1 || es[0].Error() != "stream.bindings.chargePayment-in-0.consumer.max-attemps (application.yaml:4): unknown key; did you mean max-attempts?" {
		t.Errorf("got %v", es)
	}
}

func TestOnCloudPlatformAndRefusedKeys(t *testing.T) {
	yaml := "stream:\n  default-binder: memory\n---\nspring.config.activate.on-cloud-platform: kubernetes\nstream:\n  default-binder: kafka\n"
	if l := mustLoad(t, Options{Data: []byte(yaml)}); l.Stream.DefaultBinder != "memory" {
		t.Errorf("off Kubernetes: %q", l.Stream.DefaultBinder)
	}
	if l := mustLoad(t, Options{Data: []byte(yaml), Env: []string{"KUBERNETES_SERVICE_HOST=10.0.0.1"}}); l.Stream.DefaultBinder != "kafka" {
		t.Errorf("on Kubernetes: %q", l.Stream.DefaultBinder)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"a: 1\n---\nspring.config.activate.on-cloud-platform: azure\n", "application.yaml:3: spring.config.activate.on-cloud-platform: want none, kubernetes"},
		{"spring:\n  config:\n    import: classpath:x.yaml\n", "spring.config.import (application.yaml:3): \"classpath:x.yaml\": there is no classpath"},
		{"a: 1\n---\nspring.config.activate.on-profile: default\nspring.profiles.group.prod: a,b\n", "application.yaml:4: spring.profiles.group cannot be set in a document activated by a profile"},
	} {
		es := configErrors(t, Options{Data: []byte(tc.yaml)})
		if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
			t.Errorf("got %v\nwant one problem starting %q", es, tc.want)
		}
	}
}

// A RabbitMQ binder's environment in SCSt's nested form is the binder's
// own keys.
func TestRabbitEnvironmentInSCStForm(t *testing.T) {
	yaml := `spring.cloud.stream:
  binders:
    rabbit1:
      type: rabbit
      environment:
        spring:
          rabbitmq:
            host: r1
            port: 5673
            username: u
            listener: { simple: { prefetch: 3 } }
          cloud.stream.rabbit.binder:
            connection-name: app
    rabbit2:
      type: rabbit
      environment:
        spring.rabbitmq.addresses: r2:5672
`
	l := mustLoad(t, Options{Data: []byte(yaml), Logger: discard})
	if got, want := l.Stream.Binders["rabbit1"].Environment, map[string]any{"addresses": "r1:5673", "username": "u", "connection-name": "app"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rabbit1 environment %v, want %v", got, want)
	}
	if got, want := l.Stream.Binders["rabbit2"].Environment, map[string]any{"addresses": "r2:5672"}; !reflect.DeepEqual(got, want) {
		t.Errorf("rabbit2 environment %v, want %v", got, want)
	}
	if len(l.Warnings) != 1 || l.Warnings[0].Path != "stream.binders.rabbit1.environment.spring.rabbitmq.listener.simple.prefetch" || l.Warnings[0].Origin != "application.yaml:11" {
		t.Errorf("warnings %v", l.Warnings)
	}
	if o := l.Stream.Origins["stream.binders.rabbit1.environment.addresses"]; o != "application.yaml:8" {
		t.Errorf("origin %q", o)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"stream.binders.r: { type: rabbit, environment: { addresses: 'a:1', spring.rabbitmq.host: b } }\n",
			"stream.binders.r.environment.spring.rabbitmq.host (application.yaml:1): sets the binder's addresses, which stream.binders.r.environment.addresses sets too"},
		{"stream.binders.r: { type: rabbit, environment: { spring: { redis: { host: x } } } }\n",
			"stream.binders.r.environment.spring.redis.host (application.yaml:1): unknown key of a binder environment in SCSt's form"},
	} {
		es := configErrors(t, Options{Data: []byte(tc.yaml), Logger: discard})
		if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
			t.Errorf("got %v\nwant one problem starting %q", es, tc.want)
		}
	}
}

func TestPlaceholderProblemAtAConfiguredName(t *testing.T) {
	es := configErrors(t, Options{Data: []byte("stream:\n  bindings:\n    chargePayment-in-0:\n      group: ${NOPE}\n")})
	if len(es) != 1 || !strings.HasPrefix(es[0].Error(), "stream.bindings.chargePayment-in-0.group (application.yaml:4): environment variable NOPE is not set") {
		t.Fatalf("got %v", es)
	}
}

func TestProfilesActivePlaceholder(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml":     "spring.profiles.active: ${DEPLOY_ENV:dev}\n",
		"application-dev.yaml": "stream: { default-binder: memory }\n",
		"application-prd.yaml": "stream: { default-binder: kafka }\n",
	})
	if l := mustLoad(t, Options{Dir: dir}); !reflect.DeepEqual(l.Profiles, []string{"dev"}) {
		t.Errorf("profiles %q", l.Profiles)
	}
	if l := mustLoad(t, Options{Dir: dir, Env: []string{"DEPLOY_ENV=prd"}}); !reflect.DeepEqual(l.Profiles, []string{"prd"}) || l.Stream.DefaultBinder != "kafka" {
		t.Errorf("profiles %q, binder %q", l.Profiles, l.Stream.DefaultBinder)
	}
}

// The decoder reads lists of durations (a list or a comma-separated
// string), checking each item.
func TestDurationListLeaf(t *testing.T) {
	var got []time.Duration
	d := &decoder{origins: map[string]string{}}
	d.leaf([]any{"250ms", 1000}, reflect.ValueOf(&got).Elem(), "k")
	if len(d.errs) != 0 || !reflect.DeepEqual(got, []time.Duration{250 * time.Millisecond, time.Second}) {
		t.Fatalf("got %v, errs %v", got, d.errs)
	}
	d.leaf("1s, 2s", reflect.ValueOf(&got).Elem(), "k")
	if !reflect.DeepEqual(got, []time.Duration{time.Second, 2 * time.Second}) {
		t.Fatalf("got %v", got)
	}
	d.leaf([]any{"1s", "soon"}, reflect.ValueOf(&got).Elem(), "k")
	if len(d.errs) != 1 || d.errs[0].Path != "k[1]" {
		t.Fatalf("errs %v", d.errs)
	}
}

// A problem with a value that placeholders filled in names them (the file
// shows "${ATTEMPTS:3}", not the value), without a default written in the
// file, which may be a secret; a binding's key inherited from
// stream.default, and a value from another key, are named too.
func TestPlaceholderValueProblemNamesIt(t *testing.T) {
	yaml := `spring.cloud.stream:
  default:
    consumer:
      max-attempts: ${TRIES:0}
  bindings:
    log-in-0:
      destination: orders
      group: g
      consumer:
        concurrency: ${CONC:hunter2}
        back-off-initial-interval: x${BACKOFF:1s}
    pay-in-0:
      destination: ${my.dest}
      group: g
      consumer:
        back-off-multiplier: ${my.multiplier}
my:
  dest: orders
  multiplier: lots
`
	es := configErrors(t, Options{Data: []byte(yaml), Env: []string{"CONC=many"}})
	var got []string
	for _, e := range es {
		got = append(got, e.Error())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`concurrency (application.yaml:10): expected an integer, got "many"; value from ${CONC}`,
		`; value from ${BACKOFF}`,
		`stream.default.consumer.max-attempts (application.yaml:4): must not be 0`,
		`; value from ${TRIES}`,
		`back-off-multiplier (application.yaml:16): expected a number, got "lots"; value from ${my.multiplier}`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "hunter2") {
		t.Errorf("a placeholder's default written in the file (unused: CONC is set) is shown:\n%s", all)
	}
	if strings.Contains(all, "${my.dest}") {
		t.Errorf("a key whose value has no problem is named:\n%s", all)
	}
}
