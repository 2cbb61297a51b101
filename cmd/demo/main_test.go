package main

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

var summaryRE = regexp.MustCompile(`^summary: produced=(\d+) inventory=(\d+) shipping=(\d+) payment=(\d+) notified=(\d+) dlq=(\d+) lost=(\d+) duplicates=(\d+) elapsed=\d+\.\d{3}$`)

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
	want := []string{"1000", "1000", "1000", "900", "900", "100", "0"}
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
	if !strings.Contains(errOut.String(), "demo: ready in") {
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
	if !strings.Contains(out.String(), "lost=0 ") {
		t.Fatalf("output: %s", out.String())
	}
}

// BenchmarkDemoStartup measures how long the shop's app takes from loading
// its configuration to being ready to process, on the in-process binder.
func BenchmarkDemoStartup(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	var total time.Duration
	for b.Loop() {
		s := newShop(shopOptions{orders: 1})
		begin := time.Now()
		app, cleanup, err := buildApp(context.Background(), s, appOptions{configFile: "../../application.yaml", log: log})
		if err != nil {
			b.Fatal(err)
		}
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
