package nats_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestBreakForeignHeadersDeadLettered: messages another client published
// whose headers the binder does not send again — ten with a lower-case
// nats- prefix; 3,255 small ones, a header block just under the 64 KiB
// JetStream stores — are dead-lettered when their handler fails, with
// what had to go listed in x-streambind-truncated. Both were dropped
// ("does not fit 1048576 bytes even without its payload"): the first
// because the binder left off one unsendable header per try and gave up
// after 8, the second because the truncation list grew with every header
// dropped.
func TestBreakForeignHeadersDeadLettered(t *testing.T) {
	b, _ := shared(t, nil)
	dest := unique(t, "foreigndl")
	dead := newEnvelopes()
	startConsumer(t, b, stream.ConsumerSpec{Destination: stream.DLQName(dest, "g"), Group: "dlq-reader", Handler: dead.handler})
	fail := func(context.Context, stream.Envelope) error { return errors.New("always fails") }
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: fail, Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1}})
	bindProducer(t, b, stream.ProducerSpec{Destination: dest}) // makes the stream
	nc, err := natsgo.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	lower := natsgo.Header{idHeader: {"lower-nats"}, "x-app": {"shop"}}
	for i := range 10 {
		lower[fmt.Sprintf("nats-custom-%d", i)] = []string{"v"}
	}
	many := natsgo.Header{idHeader: {"many"}}
	for i := range 3255 {
		many[fmt.Sprintf("x-h%012d", i)] = []string{"v"}
	}
	for _, h := range []natsgo.Header{lower, many} {
		if err := nc.PublishMsg(&natsgo.Msg{Subject: dest, Header: h, Data: []byte("payload")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	dead.tr.wait(t, []string{"lower-nats", "many"}, 10*time.Second)
	l := dead.get("lower-nats")
	if tr := l.Headers[stream.HeaderTruncated]; !strings.Contains(tr, "header:nats-custom-0") || !strings.Contains(tr, "header:nats-custom-9") {
		t.Errorf("lower-nats: %s = %q, want the nats- headers listed", stream.HeaderTruncated, tr)
	}
	if l.Headers["x-app"] != "shop" || string(l.Payload) != "payload" || l.Headers[stream.HeaderExceptionMessage] != "always fails" {
		t.Errorf("lower-nats: dead letter lost what it could carry: %v %q", l.Headers, l.Payload)
	}
	m := dead.get("many")
	if tr := m.Headers[stream.HeaderTruncated]; len(tr) > 1200 || !strings.Contains(tr, ",headers:") || string(m.Payload) != "payload" {
		t.Errorf("many: %s (%d bytes) = %.100q…, payload %q; want ~1 KiB of names, a count, the payload kept", stream.HeaderTruncated, len(tr), tr, m.Payload)
	}
	if st := c.(stream.DeadLetterReporter).DeadLetterStats(); st.Dropped != 0 || st.Truncated != 2 {
		t.Errorf("DeadLetterStats = %+v, want 2 truncated, none dropped", st)
	}
}
