package rabbit

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// nestedTable is a header value of depth tables one in another.
func nestedTable(depth int) any {
	var v any = "leaf"
	for range depth {
		v = amqp.Table{"n": v}
	}
	return v
}

// nestedArray is a header value of depth arrays one in another.
func nestedArray(depth int) any {
	var v any = "leaf"
	for range depth {
		v = []any{v}
	}
	return v
}

func manyKeys(n int) amqp.Table {
	t := make(amqp.Table, n)
	for i := range n {
		t[fmt.Sprintf("k%05d", i)] = nil
	}
	return t
}

// TestUndecodableHeadersDelivered: RabbitMQ accepts and delivers headers
// that amqp091-go refuses to decode (tables or arrays nested more than 32
// deep, a table or array of more than 8192 entries, more than 8192
// headers), and amqp091-go then closed the consumer connection with a
// frame error; the broker redelivered the message on the next connection,
// and so on: one such message published by another client stopped every
// consumer of the binder for good (no message handled in 5 s, the
// connection reopened 6 times, before the fix). Now each is delivered
// with the values replaced by a text saying why and the header
// x-streambind-undecodable-headers naming them, the other headers intact;
// one whose handler fails is dead-lettered; headers at the limits are
// delivered unchanged; the consumer connection stays up.
func TestUndecodableHeadersDelivered(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "undecodable")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	got := map[string]stream.Envelope{}
	arrived := make(chan struct{}, 64)
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "u-in-0", Destination: dest, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true, MaxAttempts: 1},
		Handler: func(_ context.Context, m stream.Envelope) error {
			mu.Lock()
			got[string(m.Payload)] = m
			mu.Unlock()
			arrived <- struct{}{}
			if string(m.Payload) == "fails" {
				return stream.Permanent(fmt.Errorf("handler refuses it"))
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	gen := b.sub.generation()
	ch := rabbittest.Channel(t, vhost)
	bigArray := make([]any, clientMaxElements+1)
	msgs := []struct {
		body    string
		headers amqp.Table
	}{
		{"deep-table", amqp.Table{"deep": nestedTable(clientMaxFieldDepth + 1), "keep": "me"}},
		{"deep-array", amqp.Table{"deep": nestedArray(clientMaxFieldDepth + 1), "keep": "me"}},
		{"long-array", amqp.Table{"arr": bigArray, "keep": "me"}},
		{"big-table", amqp.Table{"tab": manyKeys(clientMaxElements + 1), "keep": "me"}},
		{"many-headers", func() amqp.Table { t := manyKeys(clientMaxElements + 5); t[keyHeader] = "k"; return t }()},
		{"fails", amqp.Table{"deep": nestedTable(40), "keep": "me"}},
		{"at-limits", amqp.Table{"t": nestedTable(clientMaxFieldDepth), "a": nestedArray(clientMaxFieldDepth),
			"arr": bigArray[:clientMaxElements], "tab": manyKeys(clientMaxElements)}},
		{"fine", amqp.Table{"keep": "me"}},
	}
	for _, m := range msgs {
		if err := ch.PublishWithContext(ctx, dest, "", false, false, amqp.Publishing{Headers: m.headers, Body: []byte(m.body), MessageId: m.body}); err != nil {
			t.Fatal(err)
		}
	}
	for range msgs {
		select {
		case <-arrived:
		case <-time.After(20 * time.Second):
			mu.Lock()
			t.Fatalf("handled %d of %d messages; consumer connection reopened %d times", len(got), len(msgs), b.sub.generation()-gen)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, name := range []string{"deep-table", "deep-array", "long-array", "big-table", "fails"} {
		h := got[name].Headers
		key := "deep"
		switch name {
		case "long-array":
			key = "arr"
		case "big-table":
			key = "tab"
		}
		if h["keep"] != "me" || !strings.Contains(h[key], "not decodable") || !strings.HasPrefix(h[UndecodableHeaders], key+": ") {
			t.Errorf("%s: headers %q=%.80q keep=%q %s=%q", name, key, h[key], h["keep"], UndecodableHeaders, h[UndecodableHeaders])
		}
	}
	// Counted without the received headers every live delivery has
	// (withReceivedHeaders).
	count := func(h stream.Headers) int {
		n := 0
		for k := range h {
			if !isReceivedHeader(k) {
				n++
			}
		}
		return n
	}
	if m := got["many-headers"]; count(m.Headers) != clientMaxElements || string(m.Key) != "k" || !strings.Contains(m.Headers[UndecodableHeaders], ": 7 dropped") {
		t.Errorf("many-headers: %d headers, key %q, %s=%q", count(m.Headers), m.Key, UndecodableHeaders, m.Headers[UndecodableHeaders])
	}
	if h := got["at-limits"].Headers; h[UndecodableHeaders] != "" || strings.Contains(h["t"], "not decodable") || count(h) != 5 {
		t.Errorf("at-limits: changed: %d headers, %s=%q", count(h), UndecodableHeaders, h[UndecodableHeaders])
	}
	if n := b.sub.generation() - gen; n != 0 {
		t.Errorf("consumer connection reopened %d times", n)
	}
	// The failed one is in the DLQ, its headers as delivered.
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, ok, err := ch.Get(dest+".g.dlq", true)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			if string(d.Body) != "fails" || d.Headers["keep"] != "me" || d.Headers[UndecodableHeaders] == nil {
				t.Errorf("dead letter %q headers %v", d.Body, d.Headers)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no dead letter")
		}
		time.Sleep(50 * time.Millisecond) // polling the DLQ
	}
}
