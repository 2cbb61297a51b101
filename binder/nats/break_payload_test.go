package nats_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestBreakOversizedSends: a message over the server's max_payload, one
// that fits it only without its headers, and one over the stream's
// max-msg-size are refused at once with a stream.Permanent error (not
// retried send-attempts times), and the producer goes on sending.
func TestBreakOversizedSends(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{Config: "max_payload: 16384\n"})
	b := newBinder(t, srv.URL(), map[string]any{"stream": map[string]any{"max-msg-size": 8192}})
	closeBinder(t, b)
	p := bindProducer(t, b, stream.ProducerSpec{Destination: unique(t, "big")})
	cases := []struct {
		name    string
		payload int
		header  int
	}{
		{"over max_payload", 20000, 0},
		{"over max_payload with its headers", 16000, 1000},
		{"over the stream's max-msg-size", 10000, 0},
	}
	for _, c := range cases {
		m := msg(c.name)
		m.Payload = bytes.Repeat([]byte{'x'}, c.payload)
		if c.header > 0 {
			m.Headers["x-big"] = strings.Repeat("h", c.header)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		start := time.Now()
		err := p.Send(ctx, m)
		cancel()
		took := time.Since(start)
		t.Logf("%s: %s, %v", c.name, took.Round(time.Millisecond), err)
		if err == nil || !stream.IsPermanent(err) {
			t.Errorf("%s: Send: %v, want a permanent error", c.name, err)
		}
		if took > time.Second {
			t.Errorf("%s: Send took %s: retried a refusal no retry fixes", c.name, took)
		}
	}
	if err := p.Send(context.Background(), msg("small")); err != nil {
		t.Fatalf("Send after the refusals: %v", err)
	}
}

// TestBreakForeignMessages: messages that did not come from a streambind
// producer — published with core NATS onto the destination's subjects,
// with headers a producer never writes (malformed encoded words, several
// values, empty values, Nats- headers, a non-numeric partition, a subject
// below the destination that is not a partition) — are handed to the
// handler as they are, and the consumer goes on.
func TestBreakForeignMessages(t *testing.T) {
	b, _ := shared(t, nil)
	dest := unique(t, "foreign")
	env := newEnvelopes()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: env.handler, Consumer: stream.ConsumerConfig{Concurrency: 3}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest}) // makes the stream
	nc, err := natsgo.Connect(natstest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	type raw struct {
		id      string
		subject string
		h       natsgo.Header
		data    string
	}
	msgs := []raw{
		{id: "no-headers"},
		{id: "bad-encoded-word", h: natsgo.Header{"x-v": {"=?utf-8?b?%%%not-base64?="}}},
		{id: "bad-key", h: natsgo.Header{"x-streambind-key": {"=?utf-8?b?!?="}}},
		{id: "several-values", h: natsgo.Header{"x-v": {"one", "two"}}},
		{id: "empty-value", h: natsgo.Header{"x-v": {""}}},
		{id: "nats-headers", h: natsgo.Header{"Nats-Custom": {"x"}}},
		{id: "bad-partition", h: natsgo.Header{stream.HeaderPartition: {"abc"}}},
		{id: "negative-partition", h: natsgo.Header{stream.HeaderPartition: {"-1"}}},
		{id: "not-a-partition", subject: dest + ".x.y"},
		{id: "binary-payload", data: "\x00\xff\xfe"},
	}
	var want []string
	for _, m := range msgs {
		subj := m.subject
		if subj == "" {
			subj = dest
		}
		h := m.h
		if h == nil {
			h = natsgo.Header{}
		}
		data := m.data
		if m.id == "no-headers" {
			h = nil
			data = "no-headers"
		} else {
			h.Set(idHeader, m.id)
		}
		want = append(want, m.id)
		if m.id == "no-headers" {
			want[len(want)-1] = "seq:" // no id: see below
		}
		if err := nc.PublishMsg(&natsgo.Msg{Subject: subj, Header: h, Data: []byte(data)}); err != nil {
			t.Fatalf("%s: %v", m.id, err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		id := "after-" + strconv.Itoa(i)
		want = append(want, id)
		if err := p.Send(context.Background(), msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	// envelopes files a message without an id under "seq:" + its
	// x-original-sequence header, which it has not: "seq:".
	env.tr.wait(t, want, 10*time.Second)
	if got := env.get("bad-encoded-word").Headers["x-v"]; got != "=?utf-8?b?%%%not-base64?=" {
		t.Errorf("bad-encoded-word: x-v = %q, want it as sent", got)
	}
	if got := env.get("several-values").Headers["x-v"]; got != "one" {
		t.Errorf("several-values: x-v = %q, want the first", got)
	}
	for k := range env.get("nats-headers").Headers {
		if strings.HasPrefix(k, "Nats-") {
			t.Errorf("nats-headers: handler got JetStream's header %s", k)
		}
	}
	if got := string(env.get("binary-payload").Payload); got != "\x00\xff\xfe" {
		t.Errorf("binary-payload: %q", got)
	}
}
