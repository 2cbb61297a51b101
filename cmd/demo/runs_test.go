package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/config"
)

// startShop builds the shop's app from o and runs it until the test ends.
func startShop(t *testing.T, s *shop, o appOptions) *shopApp {
	t.Helper()
	sa, err := buildApp(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sa.app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && !strings.Contains(err.Error(), "context canceled") {
				t.Errorf("app: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("app did not stop")
		}
		sa.cleanup()
	})
	select {
	case <-sa.app.Ready():
	case err := <-done:
		t.Fatalf("app ended before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("app not ready")
	}
	return sa
}

// waitSummary polls the tracker until ok says its summary is final, or
// fails the test after a deadline.
func waitSummary(t *testing.T, s *shop, ok func(summary) bool) summary {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sum := s.tracker.summary()
		if ok(sum) {
			return sum
		}
		if time.Now().After(deadline) {
			t.Fatalf("summary never reached the expected state: %+v", sum)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDemoCountsOnlyItsOwnOrders sends the shop orders that an earlier run
// could have left in the broker — ids of the old format ("o-1", the same id
// as this run's first order had before run ids) and of another run, twice,
// one of them poison — while it runs its own. The services handle them, the
// summary counts them apart: no duplicates, nothing lost, dlq only this
// run's poison orders.
func TestDemoCountsOnlyItsOwnOrders(t *testing.T) {
	s := newShop(shopOptions{orders: 100, poisonEvery: 10})
	sa := startShop(t, s, appOptions{configFile: "../../application.yaml"})
	ctx := context.Background()
	earlier := []OrderCreated{
		{OrderID: "o-1", CustomerID: "c-1", Quantity: 2},            // payment, notified, inventory, shipping: 4
		{OrderID: "o-1", CustomerID: "c-1", Quantity: 2},            // again: 4
		{OrderID: "o-0badcafe-10", CustomerID: "c-10", Quantity: 0}, // inventory, shipping, dlq: 3
	}
	for _, o := range earlier {
		if err := sa.app.Bridge().Send(ctx, "orders", o); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-s.tracker.complete:
	case <-time.After(10 * time.Second):
		t.Fatalf("orders not complete: %+v", s.tracker.summary())
	}
	sum := waitSummary(t, s, func(s summary) bool { return s.other >= 11 })
	want := [numStages]int{100, 100, 100, 90, 90, 10}
	if sum.counts != want || sum.lost != 0 || sum.dups != 0 || sum.other != 11 {
		t.Fatalf("summary %+v, want counts %v, lost 0, duplicates 0, other 11", sum, want)
	}
}

// TestActiveProfilesMatchTheLoader checks that the profiles the demo sets
// its binders up for (activeProfiles) are those package config loads, for
// the flag and every form of the environment.
func TestActiveProfilesMatchTheLoader(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"application.yaml", "application-a.yaml", "application-b.yaml", "application-kafka.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("stream: {}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		flag     string
		env      []string
		want     []string
		fromFlag bool
	}{
		{"nothing", "", nil, nil, false},
		{"flag", "a, b", nil, []string{"a", "b"}, true},
		{"flag wins over the environment", "b", []string{"STREAM_PROFILES_ACTIVE=a", "SPRING_PROFILES_ACTIVE=kafka"}, []string{"b"}, true},
		{"blank flag: the environment", " , ", []string{"STREAM_PROFILES_ACTIVE=a"}, []string{"a"}, false},
		{"STREAM_PROFILES_ACTIVE", "", []string{"STREAM_PROFILES_ACTIVE= kafka ,b,"}, []string{"kafka", "b"}, false},
		{"SPRING_PROFILES_ACTIVE", "", []string{"SPRING_PROFILES_ACTIVE=kafka"}, []string{"kafka"}, false},
		{"STREAM_ wins over SPRING_", "", []string{"SPRING_PROFILES_ACTIVE=kafka", "STREAM_PROFILES_ACTIVE=a"}, []string{"a"}, false},
		{"STREAM_ set but empty hides SPRING_", "", []string{"STREAM_PROFILES_ACTIVE=", "SPRING_PROFILES_ACTIVE=kafka"}, nil, false},
		{"the last entry wins", "", []string{"STREAM_PROFILES_ACTIVE=a", "STREAM_PROFILES_ACTIVE=kafka"}, []string{"kafka"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, fromFlag := activeProfiles(tc.flag, tc.env)
			if !slices.Equal(got, tc.want) || fromFlag != tc.fromFlag {
				t.Fatalf("activeProfiles = %q, %v; want %q, %v", got, fromFlag, tc.want, tc.fromFlag)
			}
			var given []string
			if fromFlag {
				given = got
			}
			loaded, err := config.Load(config.Options{Dir: dir, Profiles: given, Env: append([]string{}, tc.env...)})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(loaded.Profiles, got) {
				t.Fatalf("the loader activates %q, the demo %q", loaded.Profiles, got)
			}
		})
	}
}

// TestDemoAuditKeepsUndecodableDeadLetters sends the shop, while it runs
// its own orders, what payment cannot read (dead-lettered as it came) and a
// dead letter that is not an order straight to the DLQ: audit must take
// every one (nothing failed or dropped on its binding) and count them as
// undecodable, apart from this run's poison orders.
func TestDemoAuditKeepsUndecodableDeadLetters(t *testing.T) {
	s := newShop(shopOptions{orders: 100, poisonEvery: 10})
	sa := startShop(t, s, appOptions{configFile: "../../application.yaml"})
	ctx := context.Background()
	for _, send := range []struct {
		dest    string
		payload any
	}{
		{"orders", []byte("\x00 not json")},                // payment cannot decode it
		{"orders", []byte(`{"orderId": 42}`)},              // nor this
		{"orders", []byte(`{"customerId": "c-1"}`)},        // an order without id: quantity 0, dead-lettered
		{"error.orders.payment", []byte("not an order")},   // straight to the DLQ
		{"error.orders.payment", []byte{0xff, 0xfe, 0x00}}, // and binary
	} {
		if err := sa.app.Bridge().Send(ctx, send.dest, send.payload); err != nil {
			t.Fatalf("send to %s: %v", send.dest, err)
		}
	}
	select {
	case <-s.tracker.complete:
	case <-time.After(10 * time.Second):
		t.Fatalf("orders not complete: %+v", s.tracker.summary())
	}
	sum := waitSummary(t, s, func(s summary) bool { return s.undecodable >= 5 })
	want := [numStages]int{100, 100, 100, 90, 90, 10}
	if sum.counts != want || sum.lost != 0 || sum.dups != 0 || sum.undecodable != 5 {
		t.Fatalf("summary %+v, want counts %v, lost 0, duplicates 0, undecodable 5", sum, want)
	}
	// The binding counts a message after its handler returns, so the
	// summary (counted inside the handler) can be ahead of the stats.
	audit := sa.app.Binding("auditDeadLetters-in-0")
	deadline := time.Now().Add(10 * time.Second)
	for st := audit.Stats(); st.Processed < 15 || st.Failed != 0 || st.Dropped != 0; st = audit.Stats() {
		if st.Failed != 0 || st.Dropped != 0 || st.Processed > 15 || time.Now().After(deadline) {
			t.Fatalf("audit binding: %+v; want 15 processed (10 poison orders, 5 undecodable), none failed or dropped", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if line := sum.line(time.Second); !strings.HasSuffix(line, " undecodable=5") || summaryRE.FindStringSubmatch(line) == nil {
		t.Fatalf("summary line %q", line)
	}
}
