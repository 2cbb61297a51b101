package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// TestLintBridgeProducerOutBindings: a producer that sends with the bridge alone
// (SCSt's "foreign event-driven sources": ivangfr's
// spring-cloud-stream-event-routing-cloudevents producer-service), two
// -out-0 bindings without a group and no function definition. The app
// starts with no function and the bridge binds each binding at its first
// send, as SCSt's StreamBridge does; lint and graph refused it ("is empty,
// but the bindings belong to 2 functions"). They take both for the send
// bridge's.
func TestLintBridgeProducerOutBindings(t *testing.T) {
	dir := t.TempDir()
	props := "spring.cloud.stream.default-binder=memory\n" +
		"spring.cloud.stream.bindings.news-out-0.destination=news.events\n" +
		"spring.cloud.stream.bindings.alert-out-0.destination=alert.events\n"
	if err := os.WriteFile(filepath.Join(dir, "application.properties"), []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}

	// What the app does with it: starts, and the bridge sends to both.
	l, err := config.Load(config.Options{Dir: dir, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	app, err := stream.NewApp(l.Stream, stream.NewCatalog(), stream.WithBinderType(memory.Type, memory.New),
		stream.WithLogger(slog.New(slog.DiscardHandler)), stream.WithoutSignals())
	if err != nil {
		t.Fatalf("the app refuses it: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the app is not ready after 30s")
	}
	for _, n := range []string{"news-out-0", "alert-out-0"} {
		if err := app.Bridge().Send(ctx, n, []byte("x")); err != nil {
			t.Errorf("send to %s: %v", n, err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}

	r := runIn(t, dir, nil, "lint", ".")
	if r.code != 0 || strings.Contains(r.stdout, "is empty") {
		t.Fatalf("lint: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, dir, nil, "graph", ".")
	if r.code != 0 || strings.Contains(r.stderr, "is empty") ||
		!strings.Contains(r.stdout, `send_bridge -->|"news-out-0"|`) || !strings.Contains(r.stdout, `send_bridge -->|"alert-out-0"|`) ||
		strings.Contains(r.stdout, "supplier") {
		t.Fatalf("graph: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
