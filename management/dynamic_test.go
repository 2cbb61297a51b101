package management_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
)

// The send bridge's producers of dynamic destinations (the outbox relay's
// and StreamBridge-style sends to a destination without an output binding)
// are shown beside the app's bindings: in /actuator/bindings, by name, and
// in /metrics with their sent counters, while the bridge caches them;
// their state cannot be changed (409), and an evicted one is gone.
func TestDynamicDestinationBindings(t *testing.T) {
	cfg := &stream.Config{
		DynamicDestinationCacheSize: 1,
		Bindings: map[string]stream.BindingConfig{
			"audit": {ContentType: "text/plain"},
		},
	}
	app, err := stream.NewApp(cfg, stream.NewCatalog(), stream.WithBinderType(memory.Type, memory.New), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	base := serveLoopback(t, app)
	bindertest.RunApp(t, app)
	ctx := context.Background()
	for i := range 3 {
		if err := app.Bridge().Send(ctx, "audit", "event"+string(rune('0'+i))); err != nil {
			t.Fatal(err)
		}
	}

	const sent = "streambind_binding_messages_sent_total"
	var list []management.BindingView
	getJSON(t, base+"/actuator/bindings", &list)
	var found *management.BindingView
	for i := range list {
		if list[i].BindingName == "audit" {
			found = &list[i]
		}
	}
	if found == nil {
		t.Fatalf("/actuator/bindings lists no dynamic binding audit: %+v", list)
	}
	if !found.Dynamic || found.Input || found.Name != "audit" || found.Destination != "audit" || found.Pausable || found.Counters[sent] != 3 {
		t.Errorf("audit in /actuator/bindings = %+v, want dynamic output to audit with %s 3", *found, sent)
	}
	one := getBinding(t, base+"/actuator/bindings/AUDIT")
	if one.BindingName != "audit" || one.Counters[sent] != 3 {
		t.Errorf("/actuator/bindings/AUDIT = %+v", one)
	}
	if got := bindingSeries(t, base, "audit")[sent]; got != 3 {
		t.Errorf("/metrics %s{binding=audit} = %d, want 3", sent, got)
	}

	resp, err := http.Post(base+"/actuator/bindings/audit", "application/json", strings.NewReader(`{"state":"STOPPED"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "dynamic destination") {
		t.Errorf("POST a state to a dynamic binding: %d %s, want 409 naming a dynamic destination", resp.StatusCode, body)
	}
	if st := app.Bridge().Bindings()[0].State(); st != stream.StateStarted {
		t.Errorf("dynamic binding state %s after a refused change", st)
	}

	// A cache of one: a send to another destination evicts audit.
	if err := app.Bridge().Send(ctx, "other", []byte("x")); err != nil {
		t.Fatal(err)
	}
	var gone []management.BindingView
	if getJSON(t, base+"/actuator/bindings/audit", &gone); len(gone) != 0 {
		t.Errorf("GET an evicted dynamic binding: %+v, want [] (SCSt's queryState of no binding)", gone)
	}
	if got := bindingSeries(t, base, "other")[sent]; got != 1 {
		t.Errorf("/metrics %s{binding=other} = %d, want 1", sent, got)
	}
	if _, ok := bindingSeries(t, base, "audit")[sent]; ok {
		t.Error("/metrics still serves the evicted binding audit")
	}
}

// slowBinder is the memory binder whose producers bind only once release
// is closed: a destination slow to provision.
type slowBinder struct {
	stream.Binder
	binding chan struct{} // closed when a bind is waiting
	release chan struct{}
}

func (b *slowBinder) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	close(b.binding)
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.Binder.BindProducer(ctx, spec)
}

// A scrape does not wait for the bridge binding a dynamic destination (a
// bind holds the bridge's lock for as long as the broker takes).
func TestScrapeDuringSlowDynamicBind(t *testing.T) {
	slow := &slowBinder{binding: make(chan struct{}), release: make(chan struct{})}
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		slow.Binder = b
		return slow, err
	}
	app, err := stream.NewApp(&stream.Config{DefaultBinder: "slow", Binders: map[string]stream.BinderConfig{"slow": {Type: "slow"}}},
		stream.NewCatalog(), stream.WithBinderType("slow", factory), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := management.New(app, management.Options{Config: management.Config{Address: "127.0.0.1:0"}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	bindertest.RunApp(t, app)
	ctx := context.Background()
	sent := make(chan error, 1)
	go func() { sent <- app.Bridge().Send(ctx, "audit", []byte("x")) }()
	<-slow.binding
	scraped := make(chan struct{})
	go func() {
		defer close(scraped)
		scrape(t, "http://"+srv.Addr())
	}()
	select {
	case <-scraped:
	case <-time.After(10 * time.Second):
		t.Error("GET /metrics waited for the bridge's bind of a dynamic destination")
	}
	close(slow.release)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	<-scraped
}
