package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

var regexpPurgedStreams = regexp.MustCompile(`demo: purged (\d+) messages from the demo's streams at (\S+)`)

// demoPrefix returns a DEMO_PREFIX of the test's own.
func demoPrefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "sbdemo-test-" + hex.EncodeToString(b)
}

// natsDemoStreams are the streams application-nats.yaml's bindings use
// under DEMO_PREFIX prefix.
func natsDemoStreams(prefix string) []string {
	return []string{
		nats.StreamName(prefix + ".orders"), nats.StreamName(prefix + ".stock"), nats.StreamName(prefix + ".payments"),
		nats.StreamName("error." + prefix + ".orders.payment"),
	}
}

// natsDemo points the demo at the shared NATS server (NATS_URL) with a
// DEMO_PREFIX of the test's own, so that its streams are the test's alone;
// they are deleted when the test ends. It returns the prefix and a
// JetStream client of that server.
func natsDemo(t *testing.T) (string, jetstream.JetStream) {
	t.Helper()
	natstest.Require(t)
	prefix := demoPrefix(t)
	t.Setenv("NATS_URL", natstest.URL())
	t.Setenv("DEMO_PREFIX", prefix)
	unsetenv(t, "STREAM_PROFILES_ACTIVE")
	unsetenv(t, "SPRING_PROFILES_ACTIVE")
	natstest.DeleteStreams(t, natstest.URL(), func() []string { return natsDemoStreams(prefix) })
	nc, err := natsgo.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return prefix, js
}

// checkSummary fails the test unless the run exited 0 on binder with
// summary fields want (produced, inventory, shipping, payment, notified,
// dlq, lost, duplicates, undecodable).
func checkSummary(t *testing.T, run, binder string, want []string, code int, out, errOut string, m []string) {
	t.Helper()
	if code != 0 || m == nil {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", run, code, out, errOut)
	}
	for i, w := range want {
		if m[i+1] != w {
			t.Errorf("%s: summary field %d = %s, want %s (%s)", run, i+1, m[i+1], w, m[0])
		}
	}
	if !strings.Contains(errOut, "bindings on "+binder+")") {
		t.Errorf("%s: the shop did not run on the %s binder:\n%s", run, binder, errOut)
	}
}

// TestDemoOnNATS runs the shop on the local NATS server with destinations
// of the test's own: nothing lost, every poison order dead-lettered and
// read by audit, the streams named with the prefix and made with the
// profile's max-age and max-msgs.
func TestDemoOnNATS(t *testing.T) {
	prefix, js := natsDemo(t)
	code, out, errOut, m := runDemo(t, "--profile", "nats", "--orders", "300", "--poison-every", "10", "--timeout", "60s")
	checkSummary(t, "run", "nats", []string{"300", "300", "300", "270", "270", "30", "0", "0", "0"}, code, out, errOut, m)
	for _, name := range natsDemoStreams(prefix) {
		s, err := js.Stream(context.Background(), name)
		if err != nil {
			t.Errorf("stream %s: %v", name, err)
			continue
		}
		if c := s.CachedInfo().Config; c.MaxAge != time.Hour || c.MaxMsgs != 100000 {
			t.Errorf("stream %s: max-age %s, max-msgs %d; want 1h and 100000 (application-nats.yaml)", name, c.MaxAge, c.MaxMsgs)
		}
	}
	if !strings.Contains(out, prefix+".orders") {
		t.Errorf("the report does not show the prefixed destination %s.orders:\n%s", prefix, out)
	}
	// The orders stream's durables are the groups' own, each read by its
	// consumer: placeOrder's partitioned required-groups made the
	// durables inventory_p0..2 (and payment's, shipping's) as well, which
	// the shop's unpartitioned consumers never read, each keeping all 300
	// orders pending (application-nats.yaml leaves the groups to the
	// consumers, as application-rabbit.yaml does).
	s, err := js.Stream(context.Background(), nats.StreamName(prefix+".orders"))
	if err != nil {
		t.Fatal(err)
	}
	var durables []string
	l := s.ListConsumers(context.Background())
	for ci := range l.Info() {
		durables = append(durables, fmt.Sprintf("%s (pending %d)", ci.Name, ci.NumPending))
	}
	if l.Err() != nil {
		t.Fatal(l.Err())
	}
	slices.Sort(durables)
	if want := []string{"inventory (pending 0)", "payment (pending 0)", "shipping (pending 0)"}; !slices.Equal(durables, want) {
		t.Errorf("the durable consumers of %s.orders are %q, want %q", prefix, durables, want)
	}
}

// TestDemoNATSRerunAndPurge runs the shop three times with one prefix, as
// `make demo-nats` run repeatedly does, with orders left in the stream
// before the second and third runs: without --purge the second run
// handles them and counts them apart; with --purge the third run deletes
// the demo's streams first and sees none of them.
func TestDemoNATSRerunAndPurge(t *testing.T) {
	prefix, js := natsDemo(t)
	args := []string{"--profile", "nats", "--orders", "50", "--poison-every", "10", "--timeout", "60s"}
	want := []string{"50", "50", "50", "45", "45", "5", "0", "0", "0"}
	code, out, errOut, m := runDemo(t, args...)
	checkSummary(t, "first run", "nats", want, code, out, errOut, m)

	leave := func() {
		t.Helper()
		for i, o := range []OrderCreated{
			{OrderID: "o-earlier-1", CustomerID: "c-1", Quantity: 2},
			{OrderID: "o-earlier-1", CustomerID: "c-1", Quantity: 2},
			{OrderID: "o-earlier-10", CustomerID: "c-10", Quantity: 0},
		} {
			body, _ := json.Marshal(o)
			msg := &natsgo.Msg{Subject: prefix + ".orders", Data: body, Header: natsgo.Header{}}
			msg.Header.Set("contentType", "application/json")
			msg.Header.Set(natsgo.MsgIdHdr, prefix+"-left-"+strconv.Itoa(i)+"-"+strconv.FormatInt(time.Now().UnixNano(), 10))
			if _, err := js.PublishMsg(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	leave()
	code, out, errOut, m = runDemo(t, args...)
	checkSummary(t, "run without --purge", "nats", want, code, out, errOut, m)
	if om := otherRunsRE.FindStringSubmatch(errOut); om == nil {
		t.Errorf("run without --purge: the left-over orders were not handled\nstderr:\n%s", errOut)
	} else if n, _ := strconv.Atoi(om[1]); n < 6 {
		t.Errorf("run without --purge: %d messages of other runs handled, want at least 6 (inventory and shipping take all 3)", n)
	}

	leave()
	code, out, errOut, m = runDemo(t, append([]string{"--purge"}, args...)...)
	checkSummary(t, "run with --purge", "nats", want, code, out, errOut, m)
	pm := regexpPurgedStreams.FindStringSubmatch(errOut)
	if pm == nil {
		t.Fatalf("run with --purge did not say what it purged:\n%s", errOut)
	}
	// The orders stream alone held both earlier runs' 100 orders and the 6
	// left over (limits retention keeps acknowledged messages).
	if n, _ := strconv.Atoi(pm[1]); n < 106 {
		t.Errorf("purged %d messages, want at least 106", n)
	}
	if pm[2] != natstest.URL() {
		t.Errorf("purged at %s, want %s", pm[2], natstest.URL())
	}
	if otherRunsRE.MatchString(errOut) {
		t.Errorf("run with --purge still handled orders of other runs:\n%s", errOut)
	}
}

// TestNATSPurgeConnectsAsTheBinder purges on a nats-server of the test's
// own that wants a user and password, given in the server URL's user info
// as the binder accepts them: --purge logs in with them, shows the server
// without the password, and leaves a stream that another program made
// (capturing a destination under a name of its own) in place, purging only
// the destination's subjects from it.
func TestNATSPurgeConnectsAsTheBinder(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{Config: `authorization { user: demo, password: "s3cret-pw" }`})
	withCreds := "nats://demo:s3cret-pw@" + srv.Addr()
	nc, err := natsgo.Connect(withCreds)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mk := func(name string, subjects ...string) {
		t.Helper()
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: subjects}); err != nil {
			t.Fatal(err)
		}
	}
	pub := func(subject string, n int) {
		t.Helper()
		for range n {
			if _, err := js.Publish(ctx, subject, []byte("{}")); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk(nats.StreamName("shop.orders"), "shop.orders", "shop.orders.>")
	pub("shop.orders.0", 2)
	pub("shop.orders", 1)
	mk("OPERATORS", "shop.payments", "other.>")
	pub("shop.payments", 4)
	pub("other.x", 5)

	bs := stream.BinderSettings{Name: "nats", Type: nats.Type, Environment: map[string]any{"servers": withCreds}}
	n, where, err := purgeNATS(ctx, bs, []string{"shop.orders", "shop.payments", "shop.stock"})
	if err != nil {
		t.Fatalf("purge: %v", err)
	}
	if n != 7 {
		t.Errorf("purged %d messages, want 7 (3 of shop.orders, 4 of shop.payments)", n)
	}
	if strings.Contains(where, "s3cret-pw") || !strings.Contains(where, "demo:******@"+srv.Addr()) {
		t.Errorf("purged at %q: want the server without the password", where)
	}
	if _, err := js.Stream(ctx, nats.StreamName("shop.orders")); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("the demo's stream %s is still there (%v), want it deleted", nats.StreamName("shop.orders"), err)
	}
	s, err := js.Stream(ctx, "OPERATORS")
	if err != nil {
		t.Fatalf("the stream of another program is gone: %v", err)
	}
	if got := s.CachedInfo().State.Msgs; got != 5 {
		t.Errorf("stream OPERATORS holds %d messages, want its 5 of other.x", got)
	}

	// A wrong password: the error does not show it.
	u := url.URL{Scheme: "nats", User: url.UserPassword("demo", "wr0ng-pw"), Host: srv.Addr()}
	bs.Environment["servers"] = u.String()
	if _, _, err := purgeNATS(ctx, bs, []string{"shop.orders"}); err == nil || strings.Contains(err.Error(), "wr0ng-pw") {
		t.Errorf("purge with a wrong password: %v; want an error without the password", err)
	}
	// TLS settings --purge cannot honour are refused, naming the key.
	bs.Environment = map[string]any{"servers": withCreds, "tls": map[string]any{"ca-file": "/x.pem"}}
	if _, _, err := purgeNATS(ctx, bs, nil); err == nil || !strings.Contains(err.Error(), "stream.binders.nats.environment.tls: TLS settings other than enabled") {
		t.Errorf("purge with a tls ca-file: %v", err)
	}
}
