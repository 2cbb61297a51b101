package nats_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// envelopes records received envelopes by id.
type envelopes struct {
	mu sync.Mutex
	m  map[string]stream.Envelope
	tr *tracker
}

func newEnvelopes() *envelopes { return &envelopes{m: map[string]stream.Envelope{}, tr: newTracker()} }

func (e *envelopes) handler(_ context.Context, m stream.Envelope) error {
	id := m.Headers[idHeader]
	if id == "" { // cut from a dead letter: found by its original's sequence
		id = "seq:" + m.Headers[natsbinder.HeaderOriginalSequence]
	}
	e.mu.Lock()
	e.m[id] = stream.Envelope{Payload: bytes.Clone(m.Payload), Headers: m.Headers.Clone(), Key: bytes.Clone(m.Key)}
	e.mu.Unlock()
	e.tr.receive(0, id)
	return nil
}

func (e *envelopes) get(id string) stream.Envelope {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.m[id]
}

// TestDeadLetterFitsMaxPayload: on a server with max_payload 16 KiB, a
// poison message whose dead letter would not fit (a long error text) is
// dead-lettered with the exception texts cut, one that leaves no room for
// its payload is dead-lettered headers-only, and the messages behind them
// keep flowing.
func TestDeadLetterFitsMaxPayload(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{Config: "max_payload: 16384\n"})
	b := newBinder(t, srv.URL(), nil)
	closeBinder(t, b)
	dest := unique(t, "poison")
	dead := newEnvelopes()
	startConsumer(t, b, stream.ConsumerSpec{Destination: stream.DLQName(dest, "g"), Group: "dlq-reader", Handler: dead.handler})
	long := strings.Repeat("card declined by the issuer; ", 250) // ~7 KB
	tr := newTracker()
	h := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		tr.receive(0, id)
		if strings.HasPrefix(id, "poison") {
			return fmt.Errorf("charge %s: %w", id, fmt.Errorf("payment: %w", errors.New(long)))
		}
		return nil
	}
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h, Consumer: stream.ConsumerConfig{DLQ: true}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	send := func(id string, size int) {
		m := msg(id)
		if size > 0 {
			m.Payload = bytes.Repeat([]byte{'x'}, size)
		}
		m.Headers["x-app"] = "shop"
		if err := p.Send(context.Background(), m); err != nil {
			t.Fatalf("Send(%s): %v", id, err)
		}
	}
	send("poison-cut", 14000)
	send("poison-headers-only", 16000)
	var valid []string
	for i := range 100 {
		id := "ok-" + strconv.Itoa(i)
		valid = append(valid, id)
		send(id, 0)
	}
	tr.wait(t, valid, 10*time.Second)
	// poison-headers-only lost its original headers (x-test-id among them):
	// it is found by its sequence, 2.
	dead.tr.wait(t, []string{"poison-cut", "seq:2"}, 10*time.Second)

	cut := dead.get("poison-cut")
	if len(cut.Payload) != 14000 {
		t.Errorf("poison-cut: dead letter payload %d bytes, want the original 14000", len(cut.Payload))
	}
	if tr := cut.Headers[stream.HeaderTruncated]; !strings.Contains(tr, stream.HeaderExceptionStacktrace) || strings.Contains(tr, "payload") {
		t.Errorf("poison-cut: %s = %q, want the stack trace cut and the payload kept", stream.HeaderTruncated, tr)
	}
	for _, k := range []string{stream.HeaderExceptionMessage, stream.HeaderExceptionFQCN, natsbinder.HeaderOriginalSequence, natsbinder.HeaderOriginalSubject, stream.HeaderOriginalTopic} {
		if cut.Headers[k] == "" {
			t.Errorf("poison-cut: dead letter has no %s: %v", k, cut.Headers)
		}
	}
	if !strings.Contains(cut.Headers[stream.HeaderExceptionMessage], "charge poison-cut") {
		t.Errorf("poison-cut: %s = %.80q…, want the error's start", stream.HeaderExceptionMessage, cut.Headers[stream.HeaderExceptionMessage])
	}
	ho := dead.get("seq:2")
	if !strings.Contains(ho.Headers[stream.HeaderExceptionMessage], "charge poison-headers-only") {
		t.Errorf("seq 2: %s = %.80q…, want poison-headers-only's error", stream.HeaderExceptionMessage, ho.Headers[stream.HeaderExceptionMessage])
	}
	if len(ho.Payload) != 0 || !strings.Contains(ho.Headers[stream.HeaderTruncated], "payload") {
		t.Errorf("poison-headers-only: payload %d bytes, %s = %q; want a headers-only dead letter", len(ho.Payload), stream.HeaderTruncated, ho.Headers[stream.HeaderTruncated])
	}
	if ho.Headers[natsbinder.HeaderOriginalSequence] == "" {
		t.Errorf("poison-headers-only: no %s to find the original by", natsbinder.HeaderOriginalSequence)
	}
	st := c.(stream.DeadLetterReporter).DeadLetterStats()
	if st.Truncated != 2 || st.HeadersOnly != 1 || st.Dropped != 0 {
		t.Errorf("DeadLetterStats = %+v, want 2 truncated, 1 headers-only, 0 dropped", st)
	}
}

// TestDeadLetterFailureHeldOthersFlow: while the dead-letter stream
// refuses every dead letter (it is full and discards new messages), the
// poison message is held and only its dead-letter publish retried (it was
// Nak'ed with a delay and handled again before 2026-12-06), and the
// messages behind it keep flowing on the other worker.
func TestDeadLetterFailureHeldOthersFlow(t *testing.T) {
	natstest.Require(t)
	t.Parallel() // counts calls in 3s (a bound load only lowers): runs beside the others
	s := newStreams(t, natstest.URL())
	dest := unique(t, "dlqfull")
	dlq := stream.DLQName(dest, "g")
	s.add(dest)
	s.add(dlq)
	// A full dead-letter stream that refuses new messages.
	js := jsAt(t, natstest.URL())
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: natsbinder.StreamName(dlq), Subjects: []string{dlq, dlq + ".>"}, MaxMsgs: 1, Discard: jetstream.DiscardNew}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, dlq, []byte("filler")); err != nil {
		t.Fatal(err)
	}

	b := newBinder(t, natstest.URL(), nil)
	closeBinder(t, b)
	var calls atomic.Int64
	tr := newTracker()
	h := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		if id == "poison" {
			calls.Add(1)
			return errors.New("poison")
		}
		tr.receive(0, id)
		return nil
	}
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h,
		Consumer:  stream.ConsumerConfig{DLQ: true, Concurrency: 2},
		Extension: map[string]any{"dlq-attempts": 1, "redelivery-delay": "100ms"}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	if err := p.Send(ctx, msg("poison")); err != nil {
		t.Fatal(err)
	}
	var valid []string
	for i := range 50 {
		id := "ok-" + strconv.Itoa(i)
		valid = append(valid, id)
		if err := p.Send(ctx, msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	tr.wait(t, valid, 10*time.Second)
	time.Sleep(3 * time.Second) // the window the calls are counted in
	if n := calls.Load(); n != 1 {
		t.Errorf("the poison message was handled %d times in about 3s, want 1: held for its dead letter, not handled again", n)
	}
}

// TestDeadLetterStaleLimit: when the dead-letter stream's max-msg-size is
// lowered after the binding was bound, a dead letter fitted to the old
// limit is refused for its size; it is then sent headers-only (fitted to
// the new limit), not retried for ever nor dropped.
func TestDeadLetterStaleLimit(t *testing.T) {
	b, _ := shared(t, nil)
	dest := unique(t, "stale")
	dlq := stream.DLQName(dest, "g")
	dead := newEnvelopes()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dlq, Group: "dlq-reader", Handler: dead.handler})
	tr := newTracker()
	h := func(_ context.Context, m stream.Envelope) error {
		tr.receive(0, m.Headers[idHeader])
		if m.Headers[idHeader] == "poison" {
			return errors.New("poison")
		}
		return nil
	}
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h, Consumer: stream.ConsumerConfig{DLQ: true}})
	js := jsAt(t, natstest.URL())
	ctx := context.Background()
	s, err := js.Stream(ctx, natsbinder.StreamName(dlq))
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxMsgSize = 2048
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	poison := msg("poison")
	poison.Payload = bytes.Repeat([]byte{'p'}, 4000)
	if err := p.Send(ctx, poison); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, msg("after")); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, []string{"poison", "after"}, 10*time.Second)
	dead.tr.wait(t, []string{"poison"}, 10*time.Second)
	dl := dead.get("poison")
	if len(dl.Payload) != 0 || !strings.Contains(dl.Headers[stream.HeaderTruncated], "payload") {
		t.Errorf("dead letter: %d payload bytes, %s = %q; want headers-only", len(dl.Payload), stream.HeaderTruncated, dl.Headers[stream.HeaderTruncated])
	}
	if st := c.(stream.DeadLetterReporter).DeadLetterStats(); st.HeadersOnly != 1 || st.Truncated != 1 || st.Dropped != 0 {
		t.Errorf("DeadLetterStats = %+v, want 1 truncated, 1 headers-only", st)
	}
}

// TestDeadLetterFitsHeaderLimit: JetStream stores at most 64 KiB of
// headers (it refuses more with err_code 10097) whatever max_payload
// allows. A poison message whose headers are near that limit is
// dead-lettered with its exception texts and its large original header
// cut (x-streambind-truncated says so); one with a header FitDeadLetter
// keeps to the end (another tool's x-original-* header of ~64 KB) is
// dead-lettered with that header's value shortened (it was dropped with an
// ERROR before FitDeadLetter shortened such values).
func TestDeadLetterFitsHeaderLimit(t *testing.T) {
	b, _ := shared(t, nil)
	dest := unique(t, "bighdr")
	dlq := stream.DLQName(dest, "g")
	dead := newEnvelopes()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dlq, Group: "dlq-reader", Handler: dead.handler})
	tr := newTracker()
	h := func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		tr.receive(0, id)
		if strings.HasPrefix(id, "poison") {
			return stream.Permanent(errors.New("poison " + id))
		}
		return nil
	}
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: h, Consumer: stream.ConsumerConfig{DLQ: true}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ctx := context.Background()
	big := msg("poison-big")
	big.Headers["big"] = strings.Repeat("h", 65200)
	big.Payload = []byte("payload")
	if err := p.Send(ctx, big); err != nil {
		t.Fatal(err)
	}
	protected := msg("poison-protected")
	protected.Headers["x-original-app"] = strings.Repeat("o", 65200)
	if err := p.Send(ctx, protected); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, msg("after")); err != nil {
		t.Fatal(err)
	}
	tr.wait(t, []string{"poison-big", "poison-protected", "after"}, 10*time.Second)
	// Original headers go largest first: dropping big is enough, x-test-id
	// stays.
	dead.tr.wait(t, []string{"poison-big"}, 10*time.Second)
	dl := dead.get("poison-big")
	if string(dl.Payload) != "payload" {
		t.Errorf("dead letter payload %q, want the original", dl.Payload)
	}
	if tr := dl.Headers[stream.HeaderTruncated]; !strings.Contains(tr, "header:big") || strings.Contains(tr, "payload") {
		t.Errorf("%s = %q, want header:big cut and the payload kept", stream.HeaderTruncated, tr)
	}
	if _, ok := dl.Headers["big"]; ok {
		t.Errorf("the dead letter kept the header big")
	}
	if !strings.Contains(dl.Headers[stream.HeaderExceptionMessage], "poison poison-big") {
		t.Errorf("%s = %.80q, want the error", stream.HeaderExceptionMessage, dl.Headers[stream.HeaderExceptionMessage])
	}
	deadline := time.Now().Add(10 * time.Second)
	var st stream.DeadLetterStats
	for {
		st = c.(stream.DeadLetterReporter).DeadLetterStats()
		if st.Truncated >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.Truncated != 2 || st.HeadersOnly != 0 || st.Dropped != 0 {
		t.Errorf("DeadLetterStats = %+v, want 2 truncated (poison-big, poison-protected), none dropped", st)
	}
	dead.tr.wait(t, []string{"poison-protected"}, 10*time.Second)
	pdl := dead.get("poison-protected")
	if v := pdl.Headers["x-original-app"]; !strings.HasSuffix(v, "…[cut]") || len(v) >= 65200 || string(pdl.Payload) != string(protected.Payload) ||
		!strings.Contains(pdl.Headers[stream.HeaderTruncated], "x-original-app") {
		t.Errorf("poison-protected: x-original-app %d bytes, payload %q, %s %q; want the header shortened and listed, the payload kept",
			len(v), pdl.Payload, stream.HeaderTruncated, pdl.Headers[stream.HeaderTruncated])
	}
}
