package stream_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// tap subscribes a test-side consumer to destination on broker and
// returns what it receives.
func tap(t *testing.T, broker *memory.Broker, destination string) <-chan stream.Envelope {
	t.Helper()
	return tapGroup(t, broker, destination, "tap")
}

// tapGroup is tap as a member of group.
func tapGroup(t *testing.T, broker *memory.Broker, destination, group string) <-chan stream.Envelope {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bi, err := memory.Factory(broker)(ctx, stream.BinderSettings{Name: "tap", Type: memory.Type})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan stream.Envelope, 16)
	c, err := bi.BindConsumer(ctx, stream.ConsumerSpec{Binding: "tap", Destination: destination, Group: group,
		ContentType: stream.DefaultContentType, Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
		Handler: func(_ context.Context, m stream.Envelope) error {
			m.Key = bytes.Clone(m.Key)
			m.Payload = bytes.Clone(m.Payload)
			m.Headers = m.Headers.Clone()
			ch <- m
			return nil
		}})
	if err == nil {
		err = c.Start(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Stop(context.Background())
		_ = bi.Close(context.Background())
		cancel()
	})
	return ch
}

func startOn(t *testing.T, broker *memory.Broker, cfg *stream.Config, fns *stream.Catalog, log *slog.Logger) *running {
	t.Helper()
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.Factory(broker)), stream.WithoutSignals(), stream.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	return runApp(t, app)
}

func newBroker(t *testing.T) *memory.Broker {
	t.Helper()
	broker, err := memory.NewBroker(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close(context.Background()) })
	return broker
}

// The key of an Envelope sent through the bridge is the message key, to an
// unpartitioned destination and to a partitioned binding, where it also
// selects the partition.
func TestBridgeSendsEnvelopeKey(t *testing.T) {
	broker := newBroker(t)
	plain, parted, selected := tap(t, broker, "plain"), tap(t, broker, "parted"), tap(t, broker, "selected")
	cfg := &stream.Config{
		OutputBindings: "parted-out;selected-out",
		Bindings: map[string]stream.BindingConfig{
			"parted-out": {Destination: "parted", Producer: stream.ProducerConfig{PartitionCount: 4, PartitionKeyExpression: "payload.customerId"}},
			"selected-out": {Destination: "selected", Producer: stream.ProducerConfig{PartitionCount: 4, PartitionKeyExpression: "payload.customerId",
				PartitionSelectorExpression: "hashCode() % 2 + 1"}},
		},
	}
	r := startOn(t, broker, cfg, stream.NewCatalog(), discardLogger())
	br := r.app.Bridge()
	key := []byte("k-1")
	if err := br.Send(context.Background(), "plain", stream.Envelope{Payload: []byte("x"), Key: key}); err != nil {
		t.Fatal(err)
	}
	key[0] = 'X' // the bridge copied it
	if m := recv(t, plain); string(m.Key) != "k-1" {
		t.Fatalf("dynamic destination: key %q, want k-1", m.Key)
	}
	// No customerId in the payload: the expression alone would fail.
	if err := br.Send(context.Background(), "parted-out", stream.Envelope{Payload: []byte(`{}`), Key: []byte("c-7")}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, parted)
	want := stream.SelectPartition(stream.PartitionHash("c-7"), 4)
	if string(m.Key) != "c-7" || m.Headers[stream.HeaderPartition] != string(rune('0'+want)) {
		t.Fatalf("partitioned: key %q partition %q, want c-7 and %d", m.Key, m.Headers[stream.HeaderPartition], want)
	}
	// The partition-selector-expression applies to the Envelope's key too:
	// "c-7".hashCode() is 96589, odd: partition 2 (the plain hash gives 1).
	if err := br.Send(context.Background(), "selected-out", stream.Envelope{Payload: []byte(`{}`), Key: []byte("c-7")}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, selected); string(m.Key) != "c-7" || m.Headers[stream.HeaderPartition] != "2" {
		t.Fatalf("selector: key %q partition %q, want c-7 and 2", m.Key, m.Headers[stream.HeaderPartition])
	}
	// A value (no key) is partitioned by the expression, to the same
	// partition for the same key, and sent without a key (as in SCSt).
	if err := br.Send(context.Background(), "parted-out", Order{CustomerID: "c-7"}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, parted); len(m.Key) != 0 || m.Headers[stream.HeaderPartition] != string(rune('0'+want)) {
		t.Fatalf("by expression: key %q partition %q", m.Key, m.Headers[stream.HeaderPartition])
	}
}

// The first send to a dynamic destination is logged once, with a
// did-you-mean when the name is close to a configured one.
func TestBridgeLogsFirstSendToDynamicDestination(t *testing.T) {
	broker := newBroker(t)
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "tick", func(context.Context) (string, error) { return "", stream.Skip })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "tick"},
		Bindings: map[string]stream.BindingConfig{"tick-out-0": {Destination: "payments"}},
	}
	r := startOn(t, broker, cfg, fns, log)
	br := r.app.Bridge()
	for range 3 {
		for _, name := range []string{"paymnets", "Payments", "audit-trail", "payments"} {
			if err := br.Send(context.Background(), name, "x"); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := buf.String()
	for _, want := range []string{
		`level=WARN msg="bridge: first send to a dynamic destination that is close to a configured name: a typo?" destination=paymnets name=paymnets did_you_mean=payments`,
		`level=WARN msg="bridge: first send to a dynamic destination that is close to a configured name: a typo?" destination=Payments name=Payments did_you_mean=payments`,
		`level=INFO msg="bridge: first send to a dynamic destination" destination=audit-trail name=audit-trail`,
		`level=INFO msg="bridge: first send to a dynamic destination" destination=payments name=payments`,
	} {
		if n := strings.Count(out, want); n != 1 {
			t.Errorf("logged %d times, want once: %s\nlog:\n%s", n, want, out)
		}
	}
	if n := strings.Count(out, "first send"); n != 4 {
		t.Errorf("%d first-send lines, want 4:\n%s", n, out)
	}
}

// With an allow-list, a name outside it is an error that suggests the
// close one.
func TestBridgeAllowListSuggests(t *testing.T) {
	broker := newBroker(t)
	cfg := &stream.Config{DynamicDestinations: []string{"audit", "orders"}}
	r := startOn(t, broker, cfg, stream.NewCatalog(), discardLogger())
	err := r.app.Bridge().Send(context.Background(), "ordres", "x")
	if err == nil || !strings.Contains(err.Error(), `did you mean "orders"?`) || !strings.Contains(err.Error(), "[audit, orders]") {
		t.Fatalf("got %v", err)
	}
	err = r.app.Bridge().Send(context.Background(), "zzz", "x")
	if err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Fatalf("got %v", err)
	}
}

// A name configured under stream.bindings that is sent to through the
// bridge logs "binding bound" at its first bind only, not again each time
// it is bound after an eviction from the cache.
func TestBridgeConfiguredNameBoundLoggedOnce(t *testing.T) {
	broker := newBroker(t)
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	cfg := &stream.Config{
		DynamicDestinationCacheSize: 1,
		Bindings:                    map[string]stream.BindingConfig{"audit": {Destination: "audit-log"}},
	}
	r := startOn(t, broker, cfg, stream.NewCatalog(), log)
	br := r.app.Bridge()
	for range 3 {
		for _, name := range []string{"audit", "other"} { // each evicts the other
			if err := br.Send(context.Background(), name, "x"); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := buf.String()
	if n := strings.Count(out, `msg="binding bound" binding=audit`); n != 1 {
		t.Errorf("\"binding bound\" of audit logged %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, `first send to a dynamic destination" destination=other`); n != 1 {
		t.Errorf("first send to other logged %d times, want once:\n%s", n, out)
	}
}

// The name of an input binding sends to that binding's destination (the
// first of several) on its binder, with its content type, through the
// broker: its function receives it, and so does another group reading the
// destination. Its producer is no dynamic destination of the cache, and
// its bind is logged once.
func TestBridgeSendToInputBinding(t *testing.T) {
	broker := newBroker(t)
	other := tapGroup(t, broker, "audit-log", "other")
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	got := make(chan stream.Message[string], 4)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "audit", func(_ context.Context, m stream.Message[string]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "audit"},
		Bindings: map[string]stream.BindingConfig{
			"audit-in-0": {Destination: "audit-log,audit-archive", Group: "auditor", ContentType: "text/plain"},
		},
	}
	r := startOn(t, broker, cfg, fns, log)
	br := r.app.Bridge()
	for _, p := range []string{"one", "two"} {
		if err := br.Send(context.Background(), "audit-in-0", p); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, got); m.Payload != p {
			t.Fatalf("the function got %q, want %q", m.Payload, p)
		}
		if m := recv(t, other); string(m.Payload) != p || m.Headers[stream.HeaderContentType] != "text/plain" {
			t.Fatalf("the other group got %q with content type %q, want %q, text/plain", m.Payload, m.Headers[stream.HeaderContentType], p)
		}
	}
	if d := br.DynamicDestinations(); len(d) != 0 {
		t.Errorf("dynamic destinations %v, want none", d)
	}
	want := `level=INFO msg="bridge: sends to an input binding go to its destination, through its binder" binding=audit-in-0 destination=audit-log binder=memory`
	if n := strings.Count(buf.String(), want); n != 1 {
		t.Errorf("logged %d times, want once: %s\nlog:\n%s", n, want, buf.String())
	}
}

// Send to a partitioned input binding's name is refused: sent to its
// destination without a partition, the message reached instance 0 only on
// the in-process binder (here instance 1 of 2 never got it, Send returned
// nil), no instance on NATS, and was unroutable on RabbitMQ.
func TestBridgeSendToPartitionedInputBindingRefused(t *testing.T) {
	broker := newBroker(t)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "audit", func(context.Context, []byte) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "audit"},
		Bindings: map[string]stream.BindingConfig{
			"audit-in-0": {Destination: "audit-log", Group: "auditor",
				Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: 1, InstanceCount: 2}},
		},
	}
	r := startOn(t, broker, cfg, fns, discardLogger())
	err := r.app.Bridge().Send(context.Background(), "audit-in-0", []byte("x"))
	if err == nil || !stream.IsPermanent(err) || !strings.Contains(err.Error(), "input binding audit-in-0 is partitioned") {
		t.Fatalf("Send to a partitioned input binding: %v, want a permanent error saying it is partitioned", err)
	}
}

// A dynamic destination's name that is empty or has leading or trailing
// white space is refused with an error naming it, by Send and by Encode
// (the outbox's), on every binder: " orders" was bound as a destination
// of its own, which nobody reads. (A function's sendto header is trimmed
// before it gets there.)
func TestBridgeRefusesBlankDestination(t *testing.T) {
	broker := newBroker(t)
	orders := tap(t, broker, "orders")
	r := startOn(t, broker, &stream.Config{}, stream.NewCatalog(), discardLogger())
	br := r.app.Bridge()
	for name, want := range map[string]string{
		" orders":  `bridge: destination " orders" has leading or trailing white space (did you mean "orders"?)`,
		"orders\t": `bridge: destination "orders\t" has leading or trailing white space (did you mean "orders"?)`,
		"  ":       `bridge: blank destination name "  "`,
		"":         `bridge: empty destination name`,
	} {
		if err := br.Send(context.Background(), name, "x"); err == nil || err.Error() != want {
			t.Errorf("Send(%q): %v, want %s", name, err, want)
		}
		if _, err := br.Encode(name, "x"); err == nil || err.Error() != want {
			t.Errorf("Encode(%q): %v, want %s", name, err, want)
		}
	}
	if d := br.DynamicDestinations(); len(d) != 0 {
		t.Errorf("dynamic destinations %q, want none", d)
	}
	if err := br.Send(context.Background(), "orders", "y"); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, orders); string(m.Payload) != "y" {
		t.Fatalf("orders got %q", m.Payload)
	}
}
