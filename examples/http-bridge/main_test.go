package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/examples/internal/extest"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/stream/streamtest"
)

var quiet = slog.New(slog.DiscardHandler)

// start runs the service with this directory's application.yaml on the
// in-process binder, and serves its HTTP handler.
func start(t *testing.T) (*streamtest.Env, *httptest.Server) {
	t.Helper()
	loaded, err := config.Load(config.Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	env := streamtest.Start(t, loaded.Stream, catalog(func(Order) {}))
	srv := httptest.NewServer(ordersHandler(env.App, quiet, defaultSendTimeout))
	t.Cleanup(srv.Close)
	return env, srv
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url+"/orders", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// An accepted order was sent through the bridge to orders-out, partitioned
// by customer as the binding says.
func TestPostSendsThroughTheBridge(t *testing.T) {
	env, srv := start(t)
	code, body := post(t, srv.URL, `{"id":"o-1","customerId":"c-7","sku":"widget","quantity":2}`)
	if code != http.StatusAccepted || !strings.Contains(body, `"status":"accepted"`) {
		t.Fatalf("POST: %d %s, want 202 accepted", code, body)
	}
	m := streamtest.Receive[Order](t, env, "orders-out")
	if want := (Order{ID: "o-1", CustomerID: "c-7", SKU: "widget", Quantity: 2}); m.Payload != want {
		t.Fatalf("sent %+v, want %+v", m.Payload, want)
	}
	if p := m.Headers.Get("scst_partition"); p != "0" && p != "1" {
		t.Fatalf("scst_partition %q, want 0 or 1 (partition-count 2)", p)
	}
}

// A bad order is refused with 400 and a reason, and nothing is sent: the
// next message out is the next good order.
func TestBadOrdersAreRefused(t *testing.T) {
	env, srv := start(t)
	for _, tc := range []struct{ body, says string }{
		{`{"id":"o-2"`, "unexpected EOF"},
		{`{"id":"o-2","customerId":"c","sku":"w","quantity":1,"price":3}`, `unknown field \"price\"`},
		{`{"quantity":1}`, "missing id, customerId, sku"},
		{`{"id":"o-2","customerId":"c","sku":"w","quantity":0}`, "quantity must be positive, got 0"},
		{`{"id":"` + strings.Repeat("x", maxBody) + `"}`, "request body too large"},
	} {
		code, body := post(t, srv.URL, tc.body)
		if code != http.StatusBadRequest || !strings.Contains(body, tc.says) {
			t.Errorf("POST %.40s: %d %s, want 400 saying %q", tc.body, code, body, tc.says)
		}
	}
	if code, body := post(t, srv.URL, `{"id":"o-3","customerId":"c","sku":"w","quantity":1}`); code != http.StatusAccepted {
		t.Fatalf("POST o-3: %d %s", code, body)
	}
	if got := streamtest.Receive[Order](t, env, "orders-out").Payload.ID; got != "o-3" {
		t.Fatalf("first order sent is %s, want o-3", got)
	}
}

// An app that is not running cannot take the order: 503, not 202.
func TestNotRunningIsUnavailable(t *testing.T) {
	loaded, err := config.Load(config.Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := buildApp(loaded, io.Discard, func(Order) {})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ordersHandler(app, quiet, defaultSendTimeout))
	defer srv.Close()
	if code, body := post(t, srv.URL, `{"id":"o-4","customerId":"c","sku":"w","quantity":1}`); code != http.StatusServiceUnavailable {
		t.Fatalf("POST: %d %s, want 503", code, body)
	}
}

// stalledBinders is the in-process binder whose producers never get the
// broker's confirm: their sends wait until their context ends, as a
// binder's do during an outage.
func stalledBinders(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
	b, err := memory.New(ctx, s)
	return stalledBinder{b}, err
}

type stalledBinder struct{ stream.Binder }

func (b stalledBinder) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	p, err := b.Binder.BindProducer(ctx, spec)
	return stalledProducer{p}, err
}

type stalledProducer struct{ stream.Producer }

func (stalledProducer) Send(ctx context.Context, _ stream.Envelope) error {
	<-ctx.Done()
	return ctx.Err()
}

// A broker that does not confirm the order: the client gets its 503 once
// the send timeout passed, not no answer for as long as it keeps waiting
// (the request's context ends only when the client goes away).
func TestUnconfirmedOrderIsUnavailable(t *testing.T) {
	loaded, err := config.Load(config.Options{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := buildApp(loaded, io.Discard, func(Order) {}, stream.WithBinderType(memory.Type, stalledBinders), stream.WithoutSignals())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("app ended: %v", err)
	}
	srv := httptest.NewServer(ordersHandler(app, quiet, 50*time.Millisecond))
	defer srv.Close()
	// The client's own deadline only ends the test when the handler waits
	// for ever.
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Post(srv.URL+"/orders", "application/json", strings.NewReader(`{"id":"o-6","customerId":"c","sku":"w","quantity":1}`))
	if err != nil {
		t.Fatalf("POST: %v (no answer)", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("POST: %d, want 503", resp.StatusCode)
	}
}

// main itself: it listens, takes an order over HTTP, ships it, and stops
// cleanly (the HTTP server first, then the app) when its context ends.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := extest.Start(t, ctx, func(ctx context.Context, stdout, stderr io.Writer) int {
		return run(ctx, []string{"--addr", "127.0.0.1:0"}, []string{}, stdout, stderr)
	})
	r.WaitLog(t, "msg=listening")
	url := regexp.MustCompile(`url=(http://\S+)/orders`).FindStringSubmatch(r.Stderr.String())
	if url == nil {
		t.Fatalf("no URL in the log:\n%s", r.Stderr)
	}
	if code, body := post(t, url[1], `{"id":"o-5","customerId":"c-1","sku":"widget","quantity":2}`); code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, body)
	}
	r.WaitOutput(t, "shipping order o-5: 2 x widget")
	r.Stop(t)
}

// Every profile of this directory loads and builds (without connecting to
// anything), so none can rot unnoticed.
func TestProfilesBuild(t *testing.T) {
	extest.ProfilesBuild(t, func(loaded *config.Loaded) error {
		_, _, err := buildApp(loaded, io.Discard, func(Order) {})
		return err
	})
}
