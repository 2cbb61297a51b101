package redis_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestLazyHeaders: a consumer bound with ConsumerSpec.LazyHeaders gets
// envelopes without a headers map whose headers read, through Header and
// LoadHeaders, as a consumer bound without it gets them in the map:
// x-redis-deliveries from Redis's count (not the entry's own field), a
// large entry's as a small one's, another program's entry (no payload
// field) with its content type; a message it fails is dead-lettered with
// every header.
func TestLazyHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.binder(t, nil)
	const dest = "lazy"
	var mu sync.Mutex
	eager := map[string]stream.Envelope{}
	eagerTr, deadTr := newTracker(), newTracker()
	dead := map[string]stream.Headers{}
	bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "eager", Handler: func(_ context.Context, m stream.Envelope) error {
		id := m.Headers[idHeader]
		mu.Lock()
		eager[id] = stream.Envelope{Headers: m.Headers.Clone(), Key: m.Key, Payload: m.Payload}
		mu.Unlock()
		eagerTr.receive(id)
		return nil
	}})
	bindConsumer(t, b, stream.ConsumerSpec{Binding: "dlq-in-0", Destination: stream.DLQName(dest, "lazy"), Group: "r", Handler: func(_ context.Context, m stream.Envelope) error {
		mu.Lock()
		dead[m.Headers[idHeader]] = m.Headers.Clone()
		mu.Unlock()
		deadTr.receive(m.Headers[idHeader])
		return nil
	}})
	got := make(chan stream.Envelope, 8)
	bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "lazy", LazyHeaders: true, Consumer: stream.ConsumerConfig{DLQ: true},
		Handler: func(_ context.Context, m stream.Envelope) error {
			// What the test reads of it after the handler returned is
			// loaded here (the contract: valid until settled).
			c := m
			c.Headers = c.LoadHeaders()
			got <- stream.Envelope{Headers: m.Headers, Key: m.Key, Payload: m.Payload}
			got <- c
			if m.Header(idHeader) == "poison" {
				return stream.Permanent(errors.New("refused"))
			}
			return nil
		}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	for _, id := range []string{"small", "large", "poison"} {
		m := msg(id)
		m.Headers["x-app"] = "shop"
		m.Key = []byte("key-" + id)
		if id == "large" {
			m.Payload = []byte(`{"pad":"` + strings.Repeat("x", 2000) + `"}`)
			m.Headers["x-big"] = strings.Repeat("y", 600)
		}
		if err := p.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	// Another program's entry: fields, no payload, a deliveries field of
	// its own.
	raw := redistest.Client(t, redistest.Addr(), "", "")
	if err := raw.XAdd(context.Background(), &goredis.XAddArgs{Stream: redisbinder.StreamKey(e.prefix, dest, -1),
		Values: []any{"sku", "42", "h:" + idHeader, "foreign", "h:" + redisbinder.HeaderDeliveries, "99"}}).Err(); err != nil {
		t.Fatal(err)
	}
	ids := []string{"small", "large", "poison", "foreign"}
	eagerTr.wait(t, ids, 30*time.Second)
	for range ids {
		var m, loaded stream.Envelope
		select {
		case m = <-got:
			loaded = <-got
		case <-time.After(30 * time.Second):
			t.Fatal("the lazy consumer got too few messages")
		}
		id := loaded.Headers[idHeader]
		mu.Lock()
		want := eager[id]
		mu.Unlock()
		if id != "foreign" && m.Headers != nil {
			t.Errorf("%s: Headers = %v, want none in a map (lazy)", id, m.Headers)
		}
		if want.Headers[redisbinder.HeaderDeliveries] != "1" {
			t.Errorf("%s: the eager consumer's deliveries header %q, want 1", id, want.Headers[redisbinder.HeaderDeliveries])
		}
		if !maps.Equal(loaded.Headers, want.Headers) {
			t.Errorf("%s: LoadHeaders() = %v, want %v", id, loaded.Headers, want.Headers)
		}
		if string(m.Key) != string(want.Key) || string(m.Payload) != string(want.Payload) {
			t.Errorf("%s: key %q payload %.40q, the eager consumer's %q %.40q", id, m.Key, m.Payload, want.Key, want.Payload)
		}
	}
	deadTr.wait(t, []string{"poison"}, 30*time.Second)
	mu.Lock()
	dl := dead["poison"]
	mu.Unlock()
	if dl["x-app"] != "shop" || dl[stream.HeaderExceptionMessage] == "" {
		t.Errorf("dead letter headers %v: want the original's x-app beside the exception", dl)
	}
}

// TestLazyHeaderLookup: Header reads each header of a lazily delivered
// message as the map would hold it, while the handler runs.
func TestLazyHeaderLookup(t *testing.T) {
	e := newEnv(t)
	b := e.binder(t, nil)
	const dest = "lookup"
	type read struct{ id, app, big, deliveries, absent, key string }
	got := make(chan read, 2)
	bindConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", LazyHeaders: true, Handler: func(_ context.Context, m stream.Envelope) error {
		got <- read{m.Header(idHeader), m.Header("x-app"), m.Header("x-big"), m.Header(redisbinder.HeaderDeliveries), m.Header("x-absent"), m.Header(redisbinder.FieldKey)}
		return nil
	}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	for _, big := range []int{10, 600} {
		m := msg("m")
		m.Headers["x-app"] = "shop"
		m.Headers["x-big"] = strings.Repeat("y", big)
		m.Key = []byte("k")
		if err := p.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-got:
			if want := (read{"m", "shop", strings.Repeat("y", big), "1", "", ""}); r != want {
				t.Errorf("x-big of %d bytes: read %+v, want %+v", big, r, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no message")
		}
	}
}
