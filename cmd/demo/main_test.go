package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var summaryRE = regexp.MustCompile(`^summary: produced=(\d+) inventory=(\d+) shipping=(\d+) payment=(\d+) notified=(\d+) dlq=(\d+) lost=(\d+) duplicates=(\d+) elapsed=\d+\.\d{3} undecodable=(\d+)$`)

func TestDemoOnMemory(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--config", "../../application.yaml", "--orders", "1000", "--poison-every", "10"}, &out, &errOut, time.Now())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	m := summaryRE.FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("last line is not the summary: %q", last)
	}
	// produced, inventory, shipping, payment, notified, dlq, lost, duplicates, undecodable
	want := []string{"1000", "1000", "1000", "900", "900", "100", "0", "0", "0"}
	for i, w := range want {
		if m[i+1] != w {
			t.Errorf("summary field %d = %s, want %s (%s)", i+1, m[i+1], w, last)
		}
	}
	for _, b := range []string{"placeOrder-out-0", "chargePayment-in-0", "auditDeadLetters-in-0"} {
		if !strings.Contains(out.String(), b) {
			t.Errorf("report lacks binding %s", b)
		}
	}
	if !strings.Contains(errOut.String(), "demo: ready in") || !strings.Contains(errOut.String(), "(8 bindings on memory)") {
		t.Errorf("start-up time not reported: %s", errOut.String())
	}
}

func TestDemoRateAndBadFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--config", "../../application.yaml", "--orders", "20", "--rate", "2000"}, &out, &errOut, time.Now()); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "produced=20 ") {
		t.Fatalf("output: %s", out.String())
	}
	// --purge has nothing to do on the in-process binder, and says so.
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"--config", "../../application.yaml", "--orders", "5", "--purge"}, &out, &errOut, time.Now()); code != 0 {
		t.Fatalf("--purge on memory: exit %d: %s %s", code, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), `demo: --purge: memory binder "memory": nothing purged`) {
		t.Fatalf("--purge on memory: %s", errOut.String())
	}
	for _, args := range [][]string{{"--orders", "-1"}, {"--nope"}, {"--log-level", "loud"}, {"--config", "missing.yaml"}, {"--config", "../../application.yaml", "--profile", "nosuch"}} {
		out.Reset()
		errOut.Reset()
		if code := run(context.Background(), args, &out, &errOut, time.Now()); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}

func TestDemoServesUntilCancelled(t *testing.T) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", "../../application.yaml", "--orders", "0", "--rate", "500"}, &out, &errOut, time.Now())
	}()
	time.Sleep(100 * time.Millisecond) // let some orders flow; the assertion is on the summary
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not stop")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	m := summaryRE.FindStringSubmatch(lines[len(lines)-1])
	if m == nil || m[1] == "0" || m[7] != "0" {
		t.Fatalf("want orders produced and none lost: %s", out.String())
	}
	if m[1] != m[2] || m[1] != m[3] || m[1] != m[4] || m[1] != m[5] {
		t.Fatalf("every order placed before the stop must be processed: %s", lines[len(lines)-1])
	}
}

// BenchmarkDemoStartup measures how long the shop's app takes from loading
// its configuration to being ready to process, on the in-process binder.
func BenchmarkDemoStartup(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		s := newShop(shopOptions{orders: 1})
		begin := time.Now()
		sa, err := buildApp(context.Background(), s, appOptions{configFile: "../../application.yaml"})
		if err != nil {
			b.Fatal(err)
		}
		app, cleanup := sa.app, sa.cleanup
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- app.Run(ctx) }()
		<-app.Ready()
		total += time.Since(begin)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		cleanup()
	}
	b.ReportMetric(total.Seconds()*1000/float64(b.N), "ms-to-ready")
}

// lineWriter is a goroutine-safe writer that hands each line to a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		select {
		case w.lines <- strings.TrimSpace(line):
		default:
		}
	}
}

func TestDemoManagement(t *testing.T) {
	var out bytes.Buffer
	errw := &lineWriter{lines: make(chan string, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", "../../application.yaml", "--orders", "0", "--rate", "200", "--management", "127.0.0.1:0"}, &out, errw, time.Now())
	}()
	base := managementBase(t, errw, done, false)
	// The start-up lines list every endpoint as a URL.
	var urls []string
	for len(urls) < 15 {
		select {
		case l := <-errw.lines:
			if _, u, ok := strings.Cut(l, "http://"); ok && strings.HasPrefix(l, "demo:   ") {
				urls = append(urls, strings.Fields(l)[1]+" http://"+u)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("endpoint lines: got %q", urls)
		}
	}
	for _, want := range []string{"GET " + base + "/actuator/bindings", "GET " + base + "/actuator/bindings/{name}",
		"POST " + base + "/actuator/bindings/{name}", "GET " + base + "/actuator/functions", "GET " + base + "/actuator/topology",
		"GET " + base + "/health/liveness", "GET " + base + "/health/readiness", "GET " + base + "/metrics", "GET " + base + "/actuator/config",
		"GET " + base + "/actuator/health/readiness", "GET " + base + "/actuator/prometheus"} {
		if !slices.Contains(urls, want) {
			t.Errorf("start-up lines %q lack %q", urls, want)
		}
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/actuator/bindings"); code != 200 || strings.Count(body, `"name"`) != 8 {
		t.Fatalf("bindings: %d %s", code, body)
	}
	// Readiness flips to UP once the app is ready; poll the probe as an
	// orchestrator would.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get("/health/readiness")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness: %d %s", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, `streambind_binding_messages_sent_total{binder="memory",binding="placeOrder-out-0"`) {
		t.Fatalf("metrics: %d %.500s", code, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not stop")
	}
}

// --help prints the usage and succeeds; a bad flag is a usage error (2).
func TestDemoHelpExitsZero(t *testing.T) {
	var out, errOut strings.Builder
	if code := run(context.Background(), []string{"--help"}, &out, &errOut, time.Now()); code != 0 || !strings.Contains(errOut.String(), "-orders") {
		t.Fatalf("--help: exit %d, usage %q", code, errOut.String())
	}
	if code := run(context.Background(), []string{"--no-such-flag"}, &out, &errOut, time.Now()); code != 2 {
		t.Fatalf("bad flag: exit %d, want 2", code)
	}
}

// TestDemoInterruptedRunDrains: a run of --orders N stopped by a signal
// stops placing orders and lets those placed finish, as serve mode does:
// with the in-process binder, the queued orders vanished with the process
// (about a thousand lost=N in a run cut short).
func TestDemoInterruptedRunDrains(t *testing.T) {
	var out bytes.Buffer
	errOut := &lineWriter{lines: make(chan string, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", "../../application.yaml", "--orders", "1000000", "--management", "127.0.0.1:0"}, &out, errOut, time.Now())
	}()
	base := managementBase(t, errOut, done, false)
	// Orders flowing (a thousand sent), as a user would see before Ctrl-C.
	waitOrdersSent(t, base, 1000, 30*time.Second)
	cancel() // as SIGINT: run's ctx is the signal's
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("demo did not stop")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	m := summaryRE.FindStringSubmatch(lines[len(lines)-1])
	if m == nil || m[1] == "0" || m[7] != "0" {
		t.Fatalf("want orders produced and none lost: %s", lines[len(lines)-1])
	}
	if m[1] != m[2] || m[1] != m[3] || m[1] != m[4] || m[1] != m[5] {
		t.Fatalf("every order placed before the stop must be processed: %s", lines[len(lines)-1])
	}
}

// TestDemoStopWithPausedBindingSaysWhy: stopped while a binding is paused,
// the demo says what it waits for and stops at the end of the wait; it
// waited silently (an operator saw SIGTERM ignored).
func TestDemoStopWithPausedBindingSaysWhy(t *testing.T) {
	var out bytes.Buffer
	errw := &lineWriter{lines: make(chan string, 256)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--config", "../../application.yaml", "--orders", "0", "--rate", "2000", "--timeout", "1s", "--management", "127.0.0.1:0"}, &out, errw, time.Now())
	}()
	// The management server is up before the app is ready; a pause of a
	// binding not started yet is a no-op (docs/operations.md).
	base := managementBase(t, errw, done, true)
	resp, err := http.Post(base+"/actuator/bindings/chargePayment-in-0", "application/json", strings.NewReader(`{"state":"PAUSED"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent { // SCSt's void write operation
		t.Fatalf("pause: %d", resp.StatusCode)
	}
	// Orders placed after the pause are held by it.
	waitOrdersSent(t, base, ordersSent(t, base)+300, 10*time.Second)
	cancel()
	var waiting, gaveUp bool
	for !gaveUp {
		select {
		case l := <-errw.lines:
			waiting = waiting || strings.Contains(l, "waiting up to 1s for")
			gaveUp = strings.Contains(l, "still in flight after 1s; stopping anyway")
		case code := <-done:
			t.Fatalf("demo ended (%d) without saying what it waited for; stdout %s", code, out.String())
		case <-time.After(10 * time.Second):
			t.Fatalf("no line saying the wait ended (waiting said: %v)", waiting)
		}
	}
	if !waiting {
		t.Error("no line saying what the demo waits for")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not stop")
	}
}

// managementBase reads the demo's stderr lines until it printed its
// management address (and, with ready, until it is ready) and returns the
// address's base URL; it fails the test if the demo ends first.
func managementBase(t *testing.T, errw *lineWriter, done <-chan int, ready bool) string {
	t.Helper()
	var base string
	for base == "" || ready {
		select {
		case l := <-errw.lines:
			if _, addr, ok := strings.Cut(l, "management on "); ok {
				base, _, _ = strings.Cut(addr, " ")
			}
			if strings.HasPrefix(l, "demo: ready") {
				ready = false
			}
		case code := <-done:
			t.Fatalf("demo ended (%d) before serving management", code)
		case <-time.After(10 * time.Second):
			t.Fatalf("no management address printed (or not ready: %v)", ready)
		}
	}
	return base
}

var sentRE = regexp.MustCompile(`streambind_binding_messages_sent_total\{binder="memory",binding="placeOrder-out-0"[^}]*\} (\d+)`)

// ordersSent returns the orders the demo placed so far, from its metrics.
func ordersSent(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := sentRE.FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// waitOrdersSent polls the demo's metrics, as a user watching them would,
// until it placed at least n orders, failing the test after d.
func waitOrdersSent(t *testing.T, base string, n int, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); ordersSent(t, base) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d orders placed within %s", n, d)
		}
		time.Sleep(5 * time.Millisecond) // the polling interval
	}
}
