package management_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
)

// TestConfigEndpointHidesSecretPlaceholderValues: /actuator/config with
// show-values always hides the values that placeholders naming secrets
// filled in (the app's stream.Config.Secrets) also when it is given
// Loaded.Raw, as the docs' wiring did before Loaded.Redacted existed
// (second review).
func TestConfigEndpointHidesSecretPlaceholderValues(t *testing.T) {
	const yaml = `stream:
  function.definition: audit
  bindings.audit-in-0: {destination: orders, group: g, consumer: {max-attempts: "${DB_PASSWORD}"}}
myapp.note: "pw is ${DB_PASSWORD}"
management.endpoint.config.show-values: always
`
	loaded, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{"DB_PASSWORD=73915"}})
	if err != nil {
		t.Fatal(err)
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "audit", func(context.Context, string) error { return nil })
	app, err := stream.NewApp(loaded.Stream, fns, stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		t.Fatal(err)
	}
	mcfg, err := management.ConfigFrom(loaded.Raw)
	if err != nil {
		t.Fatal(err)
	}
	mcfg.Address = "127.0.0.1:0"
	srv := management.New(app, management.Options{Config: mcfg, Effective: loaded.Raw})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	resp, err := http.Get("http://" + srv.Addr() + "/actuator/config")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(body), "73915") || !strings.Contains(string(body), "max-attempts") {
		t.Fatalf("/actuator/config: %s", body)
	}
}
