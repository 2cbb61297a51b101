package main

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestDLQReplayKeepsHeaderTypesRabbit: a RabbitMQ dead letter's replay
// sends its headers in their AMQP types, as they were, not as text: a
// Java consumer reading a typed header (an Integer) got a String, and the
// broker's x-death array became text, so that the next dead-lettering
// counted from 1 again. The dead letter comes from a real dead-lettering
// (a consumer rejects the message, the broker moves it to the DLQ with
// x-death); its copy, read by a plain amqp091 consumer, has every header
// of the original with its type and value, x-death as the dead letter had
// it, and the replay's own headers; rejected again, the broker counts on
// in x-death (RabbitMQ 4 reads no x-death a client publishes: from 1).
// The bookkeeping headers the replay drops (x-exception-*, x-original-*)
// are dropped in any type.
func TestDLQReplayKeepsHeaderTypesRabbit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	env := []string{"VHOST=" + vhost}
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	// work-in-0's topology as the binder declares it with
	// republish-to-dlq: false (the broker dead-letters), without an app
	// consuming: the test is the consumer.
	for _, err := range []error{
		ch.ExchangeDeclare("work", "topic", true, false, false, false, nil),
		ch.ExchangeDeclare("DLX", "direct", true, false, false, false, nil),
		declareQueue(ch, "work.g", amqp.Table{"x-dead-letter-exchange": "DLX", "x-dead-letter-routing-key": "work.g"}),
		ch.QueueBind("work.g", "#", "work", false, nil),
		declareQueue(ch, "work.g.dlq", nil),
		ch.QueueBind("work.g.dlq", "work.g", "DLX", false, nil),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	sent := amqp.Table{
		"n32":  int32(-7),
		"n64":  int64(1) << 40,
		"n16":  int16(300),
		"n8":   int8(-3),
		"ok":   true,
		"f64":  2.5,
		"f32":  float32(0.25),
		"dec":  amqp.Decimal{Scale: 2, Value: 150},
		"at":   time.Unix(1767225600, 0), // AMQP timestamps are seconds
		"raw":  []byte{0, 1, 0xff},
		"tbl":  amqp.Table{"a": int32(1), "b": "x", "inner": amqp.Table{"c": true}},
		"arr":  []any{int32(1), "two", int64(3), amqp.Table{"d": 2.5}},
		"void": nil,
		"s":    "text",
	}
	if err := ch.Publish("work", "k", false, false, amqp.Publishing{Headers: sent, MessageId: "m-1",
		ContentType: "application/json", Body: []byte(`{"id":"1"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := getOne(t, ch, "work.g").Nack(false, false); err != nil {
		t.Fatal(err)
	}
	dl := getOne(t, ch, "work.g.dlq")
	xdeath, ok := dl.Headers["x-death"].([]any)
	if !ok {
		t.Fatalf("dead letter x-death = %#v, want the broker's array", dl.Headers["x-death"])
	}
	if err := dl.Reject(true); err != nil { // back in its place, for the replay
		t.Fatal(err)
	}
	// A dead letter with typed bookkeeping headers (another tool's
	// x-original-* as Kafka's binder writes them, numbers): the replay
	// drops them whatever their type, and keeps the user's.
	// Confirmed before the replay reads the DLQ: the broker has then
	// taken it, and the requeue before it on this channel (a replay on
	// its own connection could otherwise find one dead letter).
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirm("", "work.g.dlq", false, false, amqp.Publishing{MessageId: "m-2", Body: []byte(`{"id":"2"}`),
		Headers: amqp.Table{stream.HeaderExceptionMessage: "boom", "x-original-partition": int32(3), "x-original-offset": int64(9),
			"x-exception-fqcn": []byte("java.lang.IllegalStateException"), "n": int32(5)}})
	if err != nil {
		t.Fatal(err)
	}
	if !dc.Wait() {
		t.Fatal("m-2 not confirmed by the broker")
	}

	r := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "replay", "--binding", "work-in-0")
	if r.code != exitOK || !strings.Contains(r.stdout, "replayed 2 dead letters of work-in-0") {
		t.Fatalf("replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// The copies of dead letters with neither key nor partition may be
	// stored in either order: replay sends a batch's copies at once.
	cp, cp2 := getOne(t, ch, "work.g"), getOne(t, ch, "work.g")
	if cp.Headers[stream.HeaderReplayedID] == "m-2" {
		cp, cp2 = cp2, cp
	}
	for k, v := range sent {
		if got, ok := cp.Headers[k]; !ok || !reflect.DeepEqual(got, v) {
			t.Errorf("replayed header %s = %#v (%T), want %#v (%T)", k, got, got, v, v)
		}
	}
	if !reflect.DeepEqual(cp.Headers["x-death"], dl.Headers["x-death"]) {
		t.Errorf("replayed x-death = %#v, want the dead letter's %#v", cp.Headers["x-death"], dl.Headers["x-death"])
	}
	for k, v := range map[string]any{stream.HeaderReplayCount: "1", stream.HeaderReplayedID: "m-1", "x-first-death-reason": "rejected"} {
		if got := cp.Headers[k]; got != v {
			t.Errorf("replayed header %s = %#v, want %#v", k, got, v)
		}
	}
	if string(cp.Body) != `{"id":"1"}` || cp.ContentType != "application/json" {
		t.Errorf("replayed body %q, content type %q", cp.Body, cp.ContentType)
	}
	for k := range cp2.Headers {
		if strings.HasPrefix(k, "x-exception-") || strings.HasPrefix(k, "x-original-") {
			t.Errorf("second copy has %s = %#v", k, cp2.Headers[k])
		}
	}
	if cp2.Headers["n"] != int32(5) || cp2.Headers[stream.HeaderReplayedID] != "m-2" {
		t.Errorf("second copy: n = %#v, %s = %#v", cp2.Headers["n"], stream.HeaderReplayedID, cp2.Headers[stream.HeaderReplayedID])
	}

	// Rejected again: the broker's dead-lettering counts on in the array
	// the copy carried.
	if err := cp.Nack(false, false); err != nil {
		t.Fatal(err)
	}
	again := getOne(t, ch, "work.g.dlq")
	xs, _ := again.Headers["x-death"].([]any)
	var count any
	if len(xs) > 0 {
		x, _ := xs[0].(amqp.Table)
		count = x["count"]
	}
	want := int64(2)
	if major(conn) >= 4 {
		want = 1
	}
	if count != want || len(xs) != len(xdeath) {
		t.Errorf("dead-lettered again: x-death %#v, want %d entr%s, the latest with count %d", again.Headers["x-death"], len(xdeath), map[bool]string{true: "y", false: "ies"}[len(xdeath) == 1], want)
	}
}

func declareQueue(ch *amqp.Channel, name string, args amqp.Table) error {
	_, err := ch.QueueDeclare(name, true, false, false, false, args)
	return err
}

// getOne gets the next message of queue q, unacknowledged, waiting up to
// 10 seconds for one.
func getOne(t *testing.T, ch *amqp.Channel, q string) amqp.Delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, ok, err := ch.Get(q, false)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message in %s", q)
		}
		time.Sleep(20 * time.Millisecond) // polling the queue
	}
}

// major is the broker's major version (its server property "version").
func major(conn *amqp.Connection) int {
	v, _ := conn.Properties["version"].(string)
	n, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	return n
}

// TestDLQReplayDropsDeliveryCountsRabbit: a replayed copy carries neither
// x-delivery-count nor x-acquired-count, the broker's counts of the dead
// letter's deliveries (a quorum DLQ counts each read the cursor gives
// back; a dead letter republished from a quorum queue keeps the work
// queue's count). The copy is a new message, delivered 0 times: kept, and
// sent as the numbers they are since 14ffb11, they made the copy's first
// delivery look redelivered (the RabbitMQ JMS client's JMSXDeliveryCount,
// an app's poison-message check) and, dead-lettered again into a quorum
// DLQ, reached the cursor's delivery limit at its first read (it then
// moved the dead letter to the queue's tail with a WARN).
func TestDLQReplayDropsDeliveryCountsRabbit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	env := []string{"VHOST=" + vhost}
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		ch.ExchangeDeclare("work", "topic", true, false, false, false, nil),
		declareQueue(ch, "work.g", nil),
		ch.QueueBind("work.g", "#", "work", false, nil),
		declareQueue(ch, "work.g.dlq", amqp.Table{"x-queue-type": "quorum"}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// m-1 as a dead letter republished from a quorum work queue has it;
	// m-2 gets the DLQ's own counts from the reads below. Confirmed
	// before the reads: without, the quorum queue may not hold them yet
	// (CI once replayed 0).
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for i, h := range []amqp.Table{
		{"n": int32(1), "x-delivery-count": int64(3), "x-acquired-count": int64(4)},
		{"n": int32(2)},
	} {
		dc, err := ch.PublishWithDeferredConfirm("", "work.g.dlq", false, false, amqp.Publishing{MessageId: fmt.Sprintf("m-%d", i+1),
			Headers: h, Body: []byte(fmt.Sprintf(`{"id":"%d"}`, i+1))})
		if err != nil {
			t.Fatal(err)
		}
		if !dc.Wait() {
			t.Fatalf("m-%d not confirmed by the broker", i+1)
		}
	}
	for range 2 {
		if r := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "ls", "--binding", "work-in-0"); r.code != exitOK {
			t.Fatalf("ls: exit %d, stderr %q", r.code, r.stderr)
		}
	}
	r := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "replay", "--binding", "work-in-0")
	if r.code != exitOK || !strings.Contains(r.stdout, "replayed 2 dead letters of work-in-0") {
		t.Fatalf("replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// The copies of dead letters with neither key nor partition may be
	// stored in either order: replay sends a batch's copies at once.
	seen := map[any]bool{}
	for range 2 {
		cp := getOne(t, ch, "work.g")
		for _, k := range []string{"x-delivery-count", "x-acquired-count"} {
			if v, ok := cp.Headers[k]; ok {
				t.Errorf("copy %s has %s = %#v (%T)", cp.Headers[stream.HeaderReplayedID], k, v, v)
			}
		}
		seen[cp.Headers["n"]] = true
	}
	if !seen[int32(1)] || !seen[int32(2)] {
		t.Errorf("copies' n headers: %v, want int32 1 and 2", seen)
	}
}
