package stream_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// settingsOf starts no app: it returns the settings NewApp gives the
// factory of every binder it creates for cfg (by binder name), the
// factories of kafka and rabbit capturing them.
func settingsOf(t *testing.T, cfg *stream.Config, fns *stream.Catalog) map[string]stream.BinderSettings {
	t.Helper()
	var mu sync.Mutex
	got := map[string]stream.BinderSettings{}
	capture := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		mu.Lock()
		got[s.Name] = s
		mu.Unlock()
		return memory.New(ctx, stream.BinderSettings{Name: s.Name, Type: memory.Type})
	}
	opts := []stream.Option{stream.WithoutSignals(), stream.WithLogger(discardLogger()),
		stream.WithBinderType("kafka", capture), stream.WithBinderType("rabbit", capture)}
	if _, err := stream.NewApp(cfg, fns, opts...); err != nil {
		t.Fatal(err)
	}
	return got
}

// consumersOn returns a catalog of one consumer per binder name, each
// binding naming its binder, and the YAML of spring.cloud.stream's
// function and bindings for them (indented for spring.cloud.stream).
func consumersOn(binders ...string) (*stream.Catalog, string) {
	fns := stream.NewCatalog()
	var defs []string
	var b strings.Builder
	for _, n := range binders {
		fn := "on" + n
		stream.AddConsumer(fns, fn, func(context.Context, string) error { return nil })
		defs = append(defs, fn)
		fmt.Fprintf(&b, "        %s-in-0: { destination: d, binder: %s }\n", fn, n)
	}
	return fns, "      function:\n        definition: " + strings.Join(defs, ";") + "\n      bindings:\n" + b.String()
}

// A binder inherits the application's Spring Boot connection settings
// under its environment, in either of the environment's forms, as SCSt's
// DefaultBinderFactory merges the application's environment under the
// binder's: its keys win key by key, an address of its own drops every
// inherited address, and client property maps merge property by
// property. inherit-environment: false gives it its environment only.
func TestBinderInheritsConnectionDefaults(t *testing.T) {
	const app = `spring:
  kafka:
    bootstrap-servers: a:9092
    client-id: app
    properties:
      security.protocol: SSL
      ssl.truststore.location: /etc/app-ca.pem
  rabbitmq:
    host: rhost
    username: app
    password: s3cret
    virtual-host: appvh
`
	sslProps := map[string]any{"security.protocol": "SSL", "ssl.truststore.location": "/etc/app-ca.pem"}
	for _, tc := range []struct {
		name    string
		binders string // stream.binders, indented for spring.cloud.stream
		want    map[string]map[string]any
	}{
		{"kafka nested form", `
        k1:
          type: kafka
          environment:
            spring:
              kafka:
                bootstrap-servers: b:9092
`, map[string]map[string]any{"k1": {"client-id": "app", "configuration": sslProps}}},
		{"kafka dotted nested form", `
        k1:
          type: kafka
          environment:
            spring.cloud.stream.kafka.binder.brokers: b:9092
            spring.kafka.client-id: mine
`, map[string]map[string]any{"k1": {"configuration": sslProps}}},
		{"kafka native form", `
        k1:
          type: kafka
          environment:
            brokers: b:9092
            configuration: { ssl.truststore.location: /etc/k1-ca.pem }
`, map[string]map[string]any{"k1": {"client-id": "app", "configuration": sslProps}}},
		{"kafka without an address of its own", `
        k1:
          type: kafka
          environment:
            spring.kafka.properties.sasl.mechanism: PLAIN
`, map[string]map[string]any{"k1": {"brokers": "a:9092", "client-id": "app", "configuration": sslProps}}},
		{"inherit-environment false", `
        k1:
          type: kafka
          inherit-environment: false
          environment:
            spring.kafka.bootstrap-servers: b:9092
        k2:
          type: kafka
          environment:
            spring.kafka.bootstrap-servers: c:9092
`, map[string]map[string]any{"k1": nil, "k2": {"client-id": "app", "configuration": sslProps}}},
		{"inherit-environment false, no environment", `
        k1:
          type: kafka
          inherit-environment: false
`, map[string]map[string]any{"k1": {"brokers": "a:9092", "client-id": "app", "configuration": sslProps}}},
		{"rabbit nested form", `
        r1:
          type: rabbit
          environment:
            spring:
              rabbitmq:
                host: other
`, map[string]map[string]any{"r1": {"username": "app", "password": "s3cret", "virtual-host": "appvh"}}},
		{"rabbit native form", `
        r1:
          type: rabbit
          environment:
            uri: amqp://other
            virtual-host: mine
`, map[string]map[string]any{"r1": {"username": "app", "password": "s3cret"}}},
		{"rabbit inherit-environment false", `
        r1:
          type: rabbit
          inherit-environment: false
          environment:
            spring.rabbitmq.host: other
`, map[string]map[string]any{"r1": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			for n := range tc.want {
				names = append(names, n)
			}
			fns, bindings := consumersOn(names...)
			cfg := loadYAML(t, app+"  cloud:\n    stream:\n"+bindings+"      binders:"+tc.binders)
			got := settingsOf(t, cfg, fns)
			for n, want := range tc.want {
				s, ok := got[n]
				if !ok {
					t.Fatalf("binder %s not created (created: %v)", n, got)
				}
				if len(s.Binder) == 0 && len(want) == 0 {
					continue
				}
				if !reflect.DeepEqual(s.Binder, want) {
					t.Errorf("binder %s: inherited %v\nwant %v", n, s.Binder, want)
				}
			}
		})
	}
}

// An address of the binder's own also drops the application's
// bootstrap.servers client property (spring.kafka.properties): the Kafka
// binder lets that property win over brokers, so inheriting it sent the
// binder to the application's cluster. Without an address of its own the
// binder keeps it.
func TestBinderOwnAddressDropsInheritedBootstrapServers(t *testing.T) {
	const app = `spring:
  kafka:
    bootstrap-servers: dead:1
    properties:
      bootstrap.servers: dead:1
      security.protocol: SSL
`
	for _, tc := range []struct {
		name, env string
		want      map[string]any
	}{
		{"native brokers", "brokers: b:9092", map[string]any{"configuration": map[string]any{"security.protocol": "SSL"}}},
		{"nested bootstrap-servers", "spring.kafka.bootstrap-servers: b:9092", map[string]any{"configuration": map[string]any{"security.protocol": "SSL"}}},
		{"SCSt brokers", "spring.cloud.stream.kafka.binder.brokers: b:9092", map[string]any{"configuration": map[string]any{"security.protocol": "SSL"}}},
		{"no address", "spring.kafka.client-id: mine", map[string]any{"brokers": "dead:1", "configuration": map[string]any{"bootstrap.servers": "dead:1", "security.protocol": "SSL"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fns, bindings := consumersOn("k1")
			cfg := loadYAML(t, app+"  cloud:\n    stream:\n"+bindings+"      binders:\n        k1:\n          type: kafka\n          environment:\n            "+tc.env+"\n")
			got := settingsOf(t, cfg, fns)["k1"].Binder
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("inherited %v\nwant %v", got, tc.want)
			}
		})
	}
}

// The section stream.<type>.binder is the application's too: a binder
// inherits it over the connection defaults, property maps merged, and
// with inherit-environment false does not see it.
func TestBinderInheritsTypeSection(t *testing.T) {
	const yaml = `spring:
  kafka:
    bootstrap-servers: a:9092
    properties: { security.protocol: SSL, ssl.truststore.location: /etc/app-ca.pem }
  cloud:
    stream:
      kafka:
        binder:
          auto-create-topics: false
          configuration: { ssl.truststore.location: /etc/section-ca.pem }
      binders:
        k1:
          type: kafka
          environment: { brokers: "b:9092" }
        k2:
          type: kafka
          inherit-environment: false
          environment: { brokers: "c:9092" }
`
	fns, bindings := consumersOn("k1", "k2")
	got := settingsOf(t, loadYAML(t, yaml+bindings), fns)
	want := map[string]any{"auto-create-topics": false, "configuration": map[string]any{"security.protocol": "SSL", "ssl.truststore.location": "/etc/section-ca.pem"}}
	if !reflect.DeepEqual(got["k1"].Binder, want) {
		t.Errorf("k1: %v\nwant %v", got["k1"].Binder, want)
	}
	if len(got["k2"].Binder) != 0 {
		t.Errorf("k2 (inherit-environment false) got %v", got["k2"].Binder)
	}
}

// The inherited settings reach the Kafka binder itself: k1's environment
// gives only the bootstrap servers (SCSt's nested form), and the binder
// reads the application's SSL settings — the trust store it cannot open
// is the application's. With inherit-environment false it is not read.
func TestKafkaBinderReadsInheritedSSL(t *testing.T) {
	yaml := func(inherit string) string {
		return `spring:
  kafka:
    properties:
      security.protocol: SSL
      ssl.truststore.location: /nonexistent/app-ca.pem
  cloud:
    stream:
      binders:
        k1:
          type: kafka
` + inherit + `          environment:
            spring.kafka.bootstrap-servers: b:9092
`
	}
	// The binder's own trust store (the native form's configuration map)
	// wins over the application's, property by property.
	const own = "          environment:\n            brokers: b:9092\n            configuration: { ssl.truststore.location: /nonexistent/k1-ca.pem }\n"
	for _, tc := range []struct {
		inherit, env string
		want         string // the trust store the binder fails to open; "" none
	}{
		{"", "", "/nonexistent/app-ca.pem"},
		{"          inherit-environment: false\n", "", ""},
		{"", own, "/nonexistent/k1-ca.pem"},
	} {
		y := yaml(tc.inherit)
		if tc.env != "" {
			y = y[:strings.LastIndex(y, "          environment:")] + tc.env
		}
		s := stream.BinderSettingsOf(loadYAML(t, y), "k1")
		s.Logger = discardLogger()
		b, err := kafka.New(context.Background(), s)
		if b != nil {
			_ = b.Close(context.Background())
		}
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("inherit %q: kafka.New: %v", tc.inherit, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), "/nonexistent/") != 1):
			t.Errorf("inherit %q, environment %q: kafka.New error %v, want one about %s", tc.inherit, tc.env, err, tc.want)
		}
	}
}

// SCSt's defaultCandidate: a binder that is not a candidate is used only
// where a binding names it; the one candidate is the default.
func TestDefaultCandidate(t *testing.T) {
	f := false
	bc := func(typ string, candidate bool) stream.BinderConfig {
		b := stream.BinderConfig{Type: typ}
		if !candidate {
			b.DefaultCandidate = &f
		}
		return b
	}
	for _, tc := range []struct {
		name       string
		cfg        stream.Config
		registered []string
		want, why  string
	}{
		{"one candidate of three", stream.Config{Binders: map[string]stream.BinderConfig{"k1": bc("kafka", true), "k2": bc("kafka", false), "r": bc("rabbit", false)}}, []string{"kafka", "rabbit"}, "k1", ""},
		{"two candidates of three", stream.Config{Binders: map[string]stream.BinderConfig{"k1": bc("kafka", true), "k2": bc("kafka", true), "r": bc("rabbit", false)}}, []string{"kafka", "rabbit"}, "", "2 of the binders declared under stream.binders are default candidates (k1, k2)"},
		{"none: the one registered type", stream.Config{Binders: map[string]stream.BinderConfig{"k2": bc("kafka", false)}}, []string{"kafka", "rabbit"}, "rabbit", ""},
		{"none: a type a declared binder has is no candidate", stream.Config{Binders: map[string]stream.BinderConfig{"k2": bc("kafka", false)}}, []string{"kafka"}, "", "no binder declared under stream.binders is a default candidate"},
		{"none: a type a binder is named after is no candidate", stream.Config{Binders: map[string]stream.BinderConfig{"kafka": bc("kafka", false)}}, []string{"kafka", "rabbit"}, "rabbit", ""},
		{"none: nothing else registered", stream.Config{Binders: map[string]stream.BinderConfig{"kafka": bc("kafka", false)}}, []string{"kafka"}, "", "no binder declared under stream.binders is a default candidate"},
		{"none: several types", stream.Config{Binders: map[string]stream.BinderConfig{"k2": bc("kafka", false)}}, []string{"kafka", "memory", "rabbit"}, "", "2 other binder types are registered (memory, rabbit)"},
		{"default-binder wins", stream.Config{DefaultBinder: "k2", Binders: map[string]stream.BinderConfig{"k1": bc("kafka", true), "k2": bc("kafka", false)}}, []string{"kafka"}, "k2", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, why := stream.DefaultBinderOf(&tc.cfg, tc.registered)
			if name != tc.want || !strings.Contains(why, tc.why) || (tc.why == "") != (why == "") {
				t.Errorf("DefaultBinderOf = %q, %q; want %q, %q", name, why, tc.want, tc.why)
			}
		})
	}
}

// NewApp binds the bindings that name no binder to the one candidate,
// from an SCSt file using default-candidate, and a default-binder naming
// a binder that is not a candidate is used as SCSt uses it.
func TestDefaultCandidateChoosesTheBinder(t *testing.T) {
	const yaml = `spring.cloud.stream:
  function.definition: a;b
  bindings:
    b-in-0: { binder: audit }
  binders:
    main: { type: kafka }
    audit: { type: kafka, default-candidate: false }
`
	for _, tc := range []struct {
		extra string
		want  []string // the binders created
	}{{"", []string{"audit", "main"}}, {"  default-binder: audit\n", []string{"audit"}}} {
		got := keysOf(settingsOf(t, loadYAML(t, yaml+tc.extra), twoConsumers()))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: binders created %v, want %v", tc.extra, got, tc.want)
		}
	}
}

// Every declared binder default-candidate: false: the bindings that name
// none go to the one registered type no binder is named after (SCSt's
// rule), here the in-process binder, which start-up says in a warning.
func TestNoDefaultCandidateWarns(t *testing.T) {
	cfg := loadYAML(t, `spring.cloud.stream:
  function.definition: a;b
  binders:
    kafka: { type: kafka, default-candidate: false }
`)
	var logged strings.Builder
	opts := append(typesOpts("memory", "kafka"), stream.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if _, err := stream.NewApp(cfg, twoConsumers(), opts...); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "level=WARN") || !strings.Contains(logged.String(), "binder_type=memory") {
		t.Errorf("want a warning naming the in-process binder, logged:\n%s", logged.String())
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// A binder whose environment gives only the host connects with the rest
// of the application's spring.rabbitmq settings (user, password, virtual
// host), as in SCSt: the queue is declared in the application's virtual
// host. The application's own host is not the broker: the binder's host
// replaces it.
func TestRabbitBinderInheritsVirtualHost(t *testing.T) {
	rabbittest.RequireCtl(t)
	vhost := rabbittest.VHost(t)
	host, port, err := net.SplitHostPort(rabbittest.Address())
	if err != nil {
		t.Fatal(err)
	}
	cfg := loadYAML(t, fmt.Sprintf(`spring:
  rabbitmq:
    host: no-such-host.invalid
    username: guest
    password: guest
    virtual-host: %s
  cloud:
    function:
      definition: sink
    stream:
      output-bindings: toSink
      binders:
        r1:
          type: rabbit
          environment:
            spring:
              rabbitmq:
                host: %s
                port: %s
        other:
          type: rabbit
          default-candidate: false
      bindings:
        toSink: { destination: inherit-vh }
        sink-in-0: { destination: inherit-vh, group: g }
`, vhost, host, port))
	got := make(chan string, 1)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, s string) error { got <- s; return nil })
	app, err := stream.NewApp(cfg, fns, stream.WithoutSignals(), stream.WithLogger(discardLogger()), stream.WithBinderType(rabbit.Type, rabbit.New))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	defer func() { _ = r.stop() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Bridge().Send(ctx, "toSink", "hello"); err != nil {
		t.Fatal(err)
	}
	if s := recv(t, got); s != "hello" {
		t.Fatalf("got %q", s)
	}
	if q := rabbittest.Ctl(t, "list_queues", "-q", "-p", vhost, "name"); !strings.Contains(q, "inherit-vh.g") {
		t.Fatalf("queue inherit-vh.g not in virtual host %s:\n%s", vhost, q)
	}
}
