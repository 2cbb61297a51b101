package management_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/outbox/outboxtest"
	"github.com/streambind/streambind/stream"
)

// TestOtherCollectorsServed: the idempotent consumer's and the outbox
// relay's metrics, registered as docs/operations.md ("Wiring it into
// main"), idempotency.md and outbox.md say, appear on the management
// server's /metrics. A trial user registered the idempotency store with
// prometheus.DefaultRegisterer, as idempotency.md suggested, and /metrics
// showed no streambind_idempotency_* series: the server serves its own
// registry, Server.Registry. With a registry given (Options.Registry),
// that one is served and Registry returns it.
func TestOtherCollectorsServed(t *testing.T) {
	pool, schema := outboxtest.Schema(t)
	table := schema + ".outbox"
	if err := outbox.Migrate(context.Background(), pool, table); err != nil {
		t.Fatal(err)
	}
	for _, given := range []bool{false, true} {
		loaded, err := config.Load(config.Options{Env: []string{}, Data: []byte(`
stream:
  function: { definition: charge }
  output-bindings: orders-out
  bindings:
    orders-out: { destination: orders }
    charge-in-0:
      destination: orders
      group: billing
      consumer:
        idempotency: { store: memory }
outbox:
  table: ` + table + `
`)})
		if err != nil {
			t.Fatal(err)
		}
		fns := stream.NewCatalog()
		stream.AddConsumer(fns, "charge", func(context.Context, string) error { return nil })
		app, err := stream.NewApp(loaded.Stream, fns, stream.WithBinderType(memory.Type, memory.New))
		if err != nil {
			t.Fatal(err)
		}
		icfg, err := idempotency.FromConfig(loaded)
		if err != nil {
			t.Fatal(err)
		}
		idem, err := idempotency.New(app, icfg, idempotency.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ocfg, err := outbox.FromConfig(loaded)
		if err != nil {
			t.Fatal(err)
		}
		ob, err := outbox.New(app, ocfg, outbox.Options{Pool: pool})
		if err != nil {
			t.Fatal(err)
		}
		var opts management.Options
		var reg *prometheus.Registry
		if given {
			reg = prometheus.NewRegistry()
			opts.Registry = reg
		}
		mgmt := management.New(app, opts)
		if given && mgmt.Registry() != reg {
			t.Fatal("Registry is not the registry given")
		}
		mgmt.Registry().MustRegister(idem, ob.Relay()) // as the docs say

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- app.Run(ctx) }()
		select {
		case <-app.Ready():
		case err := <-done:
			cancel()
			t.Fatalf("app did not start: %v", err)
		}
		srv := httptest.NewServer(mgmt.Handler())
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		// Readiness lists the relay under "binders", type "component" (as
		// outbox.md and idempotency.md say).
		resp, err = http.Get(srv.URL + "/health/readiness")
		if err != nil {
			t.Fatal(err)
		}
		var ready struct {
			Binders map[string]stream.BinderHealth `json:"binders"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&ready); err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if h := ready.Binders["outbox:"+table]; h.Type != "component" || !h.Up {
			t.Errorf("readiness binders: %+v; want outbox:%s of type component, up", ready.Binders, table)
		}
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("app: %v", err)
		}
		for _, want := range []string{
			`streambind_idempotency_processed_total{binding="charge-in-0",store="memory"} 0`,
			`streambind_outbox_backlog_messages{table="` + table + `"} 0`,
			`streambind_outbox_database_up{table="` + table + `"} 1`,
			`streambind_binding_`,
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("registry given %v: /metrics lacks %q:\n%s", given, want, body)
			}
		}
		if hasGo := strings.Contains(string(body), "go_goroutines"); hasGo == given {
			t.Errorf("registry given %v: Go collector served %v", given, hasGo)
		}
	}
}
