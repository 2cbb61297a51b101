package management_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

// plant is the secret planted everywhere a user puts one.
const plant = "S3cretPlant"

// plantedYAML holds the secret in a binder's environment (through a
// placeholder, as from a secret store), in the application's own section,
// and in the awkward forms of issue 8 case 7.
const plantedYAML = `
stream:
  function:
    definition: sink
  output-bindings: src
  default-binder: vault
  binders:
    vault:
      type: vault
      environment:
        uri: amqp://svc:${VAULT_PASSWORD}@broker:5672/vh
        password: ${VAULT_PASSWORD}
        sasl:
          jaas:
            config: PlainLoginModule required username="svc" password="${VAULT_PASSWORD}";
  bindings:
    src:
      destination: work
    sink-in-0:
      destination: work
      group: g
      content-type: text/plain
      consumer:
        max-attempts: 2
        back-off-initial-interval: 1ms
        dlq: true
management:
  server:
    address: 127.0.0.1:0
  endpoint:
    config:
      show-values: always
logging:
  level: debug
myapp:
  db:
    url: postgres://u:S3cretPlant@h/db?sslmode=disable
    dsn: host=h password=S3cretPlant dbname=app
    options: host=h password='S3cretPlant x' dbname=app
  pwd: S3cretPlant
  auth-header: Bearer S3cretPlant
  authHeader: Bearer S3cretPlant
  brokers: amqp://a:S3cretPlant,x@h1:5672, amqp://b:S3cretPlant/y@h2:5672, amqp://c:S3cretPlant z@h3
  plain: svc:S3cretPlant@cache:6379
  callback: https://hooks.example.com/x?token=S3cretPlant&retry=3
  api-keys: [S3cretPlant1, S3cretPlant2]
`

// An app configured with the secret in many places, run with a management
// server in each show-values mode and debug logging: no endpoint and no log
// line shows the secret.
func TestPlantedSecretNeverShown(t *testing.T) {
	loaded, err := config.Load(config.Options{Data: []byte(plantedYAML), Env: []string{"VAULT_PASSWORD=" + plant}})
	if err != nil {
		t.Fatal(err)
	}
	tel, err := telemetry.ConfigFrom(loaded.Raw)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	log := telemetry.NewLogger(logs, tel.Log)
	mcfg, err := management.ConfigFrom(loaded.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if mcfg.ShowValues != management.ShowAlways || tel.Log.Level != slog.LevelDebug {
		t.Fatalf("configuration not read: %+v %+v", mcfg, tel)
	}

	// A binder that, like a careless real one, logs its settings and
	// reports its URI in its health error.
	sw := &switchable{}
	vault := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		s.Logger.Debug("vault binder: connecting", "uri", s.Environment["uri"], "environment", s.Environment, "settings", s)
		inner := s
		inner.Environment = nil
		b, err := memory.New(ctx, inner)
		sw.Binder = b
		sw.err = fmt.Errorf("connection to %v lost", s.Environment["uri"])
		return sw, err
	}
	calls := make(chan struct{}, 10)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, s string) error {
		calls <- struct{}{}
		return fmt.Errorf("query postgres://u:%s@h/db?sslmode=disable for %s: connection refused", plant, s)
	})
	app, err := stream.NewApp(loaded.Stream, fns, stream.WithBinderType("vault", vault), stream.WithoutSignals(), stream.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	start := func(show management.ShowValues) *management.Server {
		c := mcfg
		c.ShowValues = show
		srv := management.New(app, management.Options{Config: c, Effective: loaded.Raw, Logger: log})
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		})
		return srv
	}
	always, never := start(management.ShowAlways), start(management.ShowNever)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	if err := app.Bridge().Send(ctx, "src", "order-1"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // max-attempts: the first try and one retry (a DEBUG line)
		select {
		case <-calls:
		case <-time.After(wait):
			t.Fatal("the handler was not called")
		}
	}

	var seen strings.Builder
	scrape := func(srv *management.Server, method, path, body string, wantCode int) []byte {
		t.Helper()
		code, _, raw := do(t, method, "http://"+srv.Addr()+path, body)
		if code != wantCode {
			t.Errorf("%s %s: %d %s, want %d", method, path, code, raw, wantCode)
		}
		fmt.Fprintf(&seen, "%s %s\n%s\n", method, path, raw)
		return raw
	}
	for _, srv := range []*management.Server{always, never} {
		scrape(srv, "GET", "/health/liveness", "", 200)
		scrape(srv, "GET", "/health/readiness", "", 200)
		scrape(srv, "GET", "/actuator/bindings", "", 200)
		scrape(srv, "GET", "/actuator/bindings/src", "", 200)
		scrape(srv, "GET", "/actuator/bindings/sink-in-0", "", 200)
		scrape(srv, "GET", "/metrics", "", 200)
		scrape(srv, "GET", "/actuator/health", "", 200)
		scrape(srv, "GET", "/actuator/health/liveness", "", 200)
		scrape(srv, "GET", "/actuator/health/readiness", "", 200)
		scrape(srv, "GET", "/actuator/prometheus", "", 200)
		scrape(srv, "GET", "/actuator/info", "", 200)
	}
	cfgAlways := scrape(always, "GET", "/actuator/config", "", 200)
	cfgNever := scrape(never, "GET", "/actuator/config", "", 200)
	scrape(always, "POST", "/actuator/bindings/sink-in-0", `{"state":"PAUSED"}`, 204)
	scrape(always, "POST", "/actuator/bindings/sink-in-0", `{"state":"RESUMED"}`, 204)
	scrape(always, "POST", "/actuator/bindings/sink-in-0", `{"state":"PAUSED"}{"state":"x"}`, 400)
	sw.down.Store(true)
	readyDown := scrape(always, "GET", "/health/readiness", "", 503)
	actuatorDown := scrape(always, "GET", "/actuator/health/readiness", "", 503)
	scrape(never, "GET", "/actuator/health", "", 503)
	scrape(never, "GET", "/actuator/health/binders", "", 503)
	scrape(never, "GET", "/metrics", "", 200)
	sw.down.Store(false)

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	out := seen.String()
	logged := logs.String()
	if strings.Contains(out, plant) {
		t.Errorf("an endpoint shows the secret:\n%s", out)
	}
	if strings.Contains(logged, plant) {
		t.Errorf("the log shows the secret:\n%s", logged)
	}
	// What was scraped and logged is what it should be, so that the
	// absence of the secret means something.
	for _, want := range []string{`"myapp.db.url"`, `"postgres://u:******@h/db?sslmode=disable"`, `"myapp.pwd"`,
		`"stream.binders.vault.environment.uri"`, `"amqp://svc:******@broker:5672/vh"`, `"svc:******@cache:6379"`,
		`"origin": "application.yaml:`} {
		if !bytes.Contains(cfgAlways, []byte(want)) {
			t.Errorf("config (always) lacks %s:\n%s", want, cfgAlways)
		}
	}
	if !bytes.Contains(cfgNever, []byte(`"myapp.auth-header"`)) || bytes.Contains(cfgNever, []byte(`"value"`)) {
		t.Errorf("config (never):\n%s", cfgNever)
	}
	if !bytes.Contains(readyDown, []byte("amqp://svc:******@broker:5672/vh")) {
		t.Errorf("readiness:\n%s", readyDown)
	}
	if !bytes.Contains(actuatorDown, []byte("amqp://svc:******@broker:5672/vh")) {
		t.Errorf("/actuator/health/readiness:\n%s", actuatorDown)
	}
	for _, want := range []string{"vault binder: connecting", "handler failed, retrying", "postgres://u:******@h/db", "binding state changed"} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %q:\n%s", want, logged)
		}
	}
}
