package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// rabbitVhost creates a virtual host of the test's own on the local
// RabbitMQ (deleted when the test ends, with everything in it) and points
// the demo at it through RABBIT_VHOST and RABBIT_ADDRESSES, the variables
// application-rabbit.yaml reads. It returns the vhost's name.
func rabbitVhost(t *testing.T) string {
	t.Helper()
	vhost := rabbittest.VHost(t)
	t.Setenv("RABBIT_VHOST", vhost)
	t.Setenv("RABBIT_ADDRESSES", rabbittest.Address())
	return vhost
}

// unsetenv removes k from the environment until the test ends.
func unsetenv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "") // restores the old value at the end
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}

// runDemo runs the demo with args and returns its exit status, stdout,
// stderr and the fields of its summary line (nil if the last line is not
// the summary).
func runDemo(t *testing.T, args ...string) (code int, out, errOut string, sum []string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), append([]string{"--config", "../../application.yaml"}, args...), &o, &e, time.Now())
	lines := strings.Split(strings.TrimSpace(o.String()), "\n")
	return code, o.String(), e.String(), summaryRE.FindStringSubmatch(lines[len(lines)-1])
}

// TestDemoOnRabbit runs the shop on the local RabbitMQ in a virtual host of
// its own (created and deleted here), so that it neither sees nor disturbs
// the queues of `make demo-rabbit` or of other tests.
func TestDemoOnRabbit(t *testing.T) {
	rabbitVhost(t)
	code, out, errOut, m := runDemo(t, "--profile", "rabbit", "--orders", "300", "--poison-every", "10", "--timeout", "60s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if m == nil {
		t.Fatalf("last line is not the summary:\n%s", out)
	}
	want := []string{"300", "300", "300", "270", "270", "30", "0", "0", "0"}
	for i, w := range want {
		if m[i+1] != w {
			t.Errorf("summary field %d = %s, want %s (%s)", i+1, m[i+1], w, m[0])
		}
	}
	if strings.Contains(out+errOut, "guest:guest") {
		t.Error("output contains credentials")
	}
}

var (
	otherRunsRE = regexp.MustCompile(`demo: (\d+) messages of other runs`)
	purgedRE    = regexp.MustCompile(`demo: purged (\d+) messages from the demo's queues at (\S+)`)
)

// TestDemoRabbitRerunWithoutPurge runs the shop three times in one vhost,
// as `make demo-rabbit` run repeatedly does, with orders of an earlier run
// left in its queues before the second and third runs: without --purge the
// second run handles them and counts them apart (lost=0, duplicates=0, its
// own counts exact); with --purge the third run empties the queues first
// and sees none of them. The three runs activate the rabbit profile in the
// three ways there are: --profile, STREAM_PROFILES_ACTIVE,
// SPRING_PROFILES_ACTIVE.
func TestDemoRabbitRerunWithoutPurge(t *testing.T) {
	vhost := rabbitVhost(t)
	args := []string{"--orders", "50", "--poison-every", "10", "--timeout", "60s"}
	// produced, inventory, shipping, payment, notified, dlq, lost, duplicates, undecodable
	want := []string{"50", "50", "50", "45", "45", "5", "0", "0", "0"}
	check := func(run string, code int, out, errOut string, m []string) {
		t.Helper()
		if code != 0 || m == nil {
			t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", run, code, out, errOut)
		}
		for i, w := range want {
			if m[i+1] != w {
				t.Errorf("%s: summary field %d = %s, want %s (%s)", run, i+1, m[i+1], w, m[0])
			}
		}
		if !strings.Contains(errOut, "bindings on rabbit)") {
			t.Errorf("%s: the shop did not run on the rabbit binder:\n%s", run, errOut)
		}
	}
	code, out, errOut, m := runDemo(t, append([]string{"--profile", "rabbit"}, args...)...)
	check("first run", code, out, errOut, m)

	// What a run cut short leaves behind: orders in the three queues of
	// "orders", one of them poison, one twice.
	u := url.URL{Scheme: "amqp", User: url.UserPassword("guest", "guest"), Host: rabbittest.Address(), Path: "/" + vhost}
	leave := func() {
		t.Helper()
		conn, err := amqp.Dial(u.String())
		if err != nil {
			t.Fatalf("dial the test vhost: %v", err)
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []OrderCreated{
			{OrderID: "o-earlier-1", CustomerID: "c-1", Quantity: 2},
			{OrderID: "o-earlier-1", CustomerID: "c-1", Quantity: 2},
			{OrderID: "o-earlier-10", CustomerID: "c-10", Quantity: 0},
		} {
			body, _ := json.Marshal(o)
			if err := ch.PublishWithContext(context.Background(), "orders", "orders", true, false,
				amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: body}); err != nil {
				t.Fatal(err)
			}
		}
		// And a dead letter that is not an order, straight into the DLQ.
		if err := ch.PublishWithContext(context.Background(), "", "orders.payment.dlq", true, false,
			amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: []byte("\x00 not an order")}); err != nil {
			t.Fatal(err)
		}
	}
	leave()
	t.Setenv("STREAM_PROFILES_ACTIVE", "rabbit")
	code, out, errOut, m = runDemo(t, args...)
	// audit handles the left-over dead letter before this run's (one
	// consumer, FIFO) and counts it as undecodable, not as lost.
	want[8] = "1"
	check("run without --purge", code, out, errOut, m)
	want[8] = "0"
	// inventory and shipping handle the 3 left-over orders before any of
	// this run (one consumer each, FIFO); payment and the rest may still be
	// at it when the summary is taken.
	if om := otherRunsRE.FindStringSubmatch(errOut); om == nil {
		t.Errorf("run without --purge: the left-over orders were not handled (purged?)\nstderr:\n%s", errOut)
	} else if n, _ := strconv.Atoi(om[1]); n < 6 {
		t.Errorf("run without --purge: %d messages of other runs handled, want at least 6", n)
	}
	if purgedRE.MatchString(errOut) {
		t.Errorf("run without --purge purged:\n%s", errOut)
	}

	leave()
	// STREAM_PROFILES_ACTIVE set, even empty, hides SPRING_PROFILES_ACTIVE
	// from the loader: unset it.
	unsetenv(t, "STREAM_PROFILES_ACTIVE")
	t.Setenv("SPRING_PROFILES_ACTIVE", "rabbit")
	code, out, errOut, m = runDemo(t, append([]string{"--purge"}, args...)...)
	check("run with --purge", code, out, errOut, m)
	pm := purgedRE.FindStringSubmatch(errOut)
	if pm == nil {
		t.Fatalf("run with --purge did not say what it purged:\n%s", errOut)
	}
	if n, _ := strconv.Atoi(pm[1]); n < 10 {
		t.Errorf("purged %d messages, want at least the 10 left in orders.inventory, orders.payment, orders.shipping and orders.payment.dlq", n)
	}
	if !strings.Contains(pm[2], "/"+vhost) || strings.Contains(pm[2], "guest:guest") {
		t.Errorf("purged at %s: want the test's vhost %s, without the password", pm[2], vhost)
	}
	if otherRunsRE.MatchString(errOut) {
		t.Errorf("run with --purge still handled orders of other runs:\n%s", errOut)
	}

	// The list of queues --purge empties is the list the demo declares.
	lq, err := exec.Command("rabbitmqctl", "list_queues", "-p", vhost, "name", "--no-table-headers", "-q").CombinedOutput()
	if err != nil {
		t.Fatalf("list_queues: %v\n%s", err, lq)
	}
	for _, q := range strings.Fields(string(lq)) {
		if !slices.Contains(rabbitDemoQueues, q) {
			t.Errorf("the demo declares queue %s, which --purge does not empty (rabbitDemoQueues)", q)
		}
	}
}

// TestRabbitPurgeHonoursAddressEntries checks that --purge connects as
// the binder does (rabbit.Endpoints): an address entry's own user name,
// password and virtual host win over the username, password and
// virtual-host settings; the report and errors never show a password.
func TestRabbitPurgeHonoursAddressEntries(t *testing.T) {
	vhost := rabbitVhost(t)
	entry := url.URL{Scheme: "amqp", User: url.UserPassword("guest", "guest"), Host: rabbittest.Address(), Path: "/" + vhost}
	conn, err := amqp.Dial(entry.String())
	if err != nil {
		t.Fatalf("dial the test vhost: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("orders.inventory", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := ch.PublishWithContext(context.Background(), "", "orders.inventory", true, false, amqp.Publishing{Body: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	// Publishes are asynchronous: wait until the queue holds them.
	deadline := time.Now().Add(5 * time.Second)
	for {
		q, err := ch.QueueDeclarePassive("orders.inventory", true, false, false, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if q.Messages == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d messages, want 3", q.Messages)
		}
		time.Sleep(10 * time.Millisecond)
	}

	bs := stream.BinderSettings{Name: "rabbit", Type: "rabbit", Environment: map[string]any{
		"addresses": entry.String(), "username": "nobody", "password": "n0t-the-password", "virtual-host": "/"}}
	n, where, err := purgeRabbit(context.Background(), bs, rabbitDemoQueues)
	if err != nil {
		t.Fatalf("purge: %v", err)
	}
	if n != 3 {
		t.Errorf("purged %d messages, want 3", n)
	}
	if want := rabbit.Redact(entry.String()); where != want {
		t.Errorf("purged at %s, want %s", where, want)
	}

	// A refused login: the error names the broker, not the password.
	bs.Environment["addresses"] = rabbittest.Address()
	bs.Environment["virtual-host"] = vhost
	_, _, err = purgeRabbit(context.Background(), bs, rabbitDemoQueues)
	if err == nil {
		t.Fatal("purge with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), "n0t-the-password") || !strings.Contains(err.Error(), "nobody:******@") {
		t.Errorf("error %q: want the broker named without the password", err)
	}
}
