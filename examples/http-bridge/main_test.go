package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/config"
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
	srv := httptest.NewServer(ordersHandler(env.App, quiet))
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
	srv := httptest.NewServer(ordersHandler(app, quiet))
	defer srv.Close()
	if code, body := post(t, srv.URL, `{"id":"o-4","customerId":"c","sku":"w","quantity":1}`); code != http.StatusServiceUnavailable {
		t.Fatalf("POST: %d %s, want 503", code, body)
	}
}

// main itself: it listens, takes an order over HTTP, ships it, and stops
// cleanly (the HTTP server first, then the app) when its context ends.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := newLines(), newLines()
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, []string{}, stdout, stderr) }()
	stderr.waitFor(t, "msg=listening", done)
	url := regexp.MustCompile(`url=(http://\S+)/orders`).FindStringSubmatch(stderr.String())
	if url == nil {
		t.Fatalf("no URL in the log:\n%s", stderr)
	}
	if code, body := post(t, url[1], `{"id":"o-5","customerId":"c-1","sku":"widget","quantity":2}`); code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, body)
	}
	stdout.waitFor(t, "shipping order o-5: 2 x widget", done)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d:\n%s", code, stderr)
	}
}

// Every profile of this directory loads and builds (without connecting to
// anything), so none can rot unnoticed.
func TestProfilesBuild(t *testing.T) {
	files, err := filepath.Glob("application-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no profile files: %v", err)
	}
	for _, f := range files {
		profile := strings.TrimSuffix(strings.TrimPrefix(f, "application-"), ".yaml")
		loaded, err := config.Load(config.Options{Profiles: []string{profile}, Env: []string{}})
		if err != nil {
			t.Errorf("profile %s: %v", profile, err)
			continue
		}
		if _, _, err := buildApp(loaded, io.Discard, func(Order) {}); err != nil {
			t.Errorf("profile %s: %v", profile, err)
		}
	}
}

// lines collects what run writes, and lets a test wait for a text in it.
type lines struct {
	mu      sync.Mutex
	buf     strings.Builder
	changed chan struct{}
}

func newLines() *lines { return &lines{changed: make(chan struct{}, 1)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor returns once text was written; it fails the test when run ends
// first (done) or after 10 s.
func (l *lines) waitFor(t *testing.T, text string, done <-chan int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(l.String(), text) {
		select {
		case <-l.changed:
		case code := <-done:
			t.Fatalf("run ended (status %d) before writing %q:\n%s", code, text, l)
		case <-deadline:
			t.Fatalf("no %q after 10s:\n%s", text, l)
		}
	}
}
