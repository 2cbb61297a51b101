package stream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// newAppErr returns NewApp's error for cfg over the in-process binder.
func newAppErr(t *testing.T, cfg *stream.Config, fns *stream.Catalog, opts ...stream.Option) string {
	t.Helper()
	opts = append([]stream.Option{stream.WithBinderType(memory.Type, memory.New)}, opts...)
	_, err := stream.NewApp(cfg, fns, opts...)
	var errs stream.ConfigErrors
	if !errors.As(err, &errs) {
		t.Fatalf("want ConfigErrors, got %v", err)
	}
	return err.Error()
}

func TestSpELPartitionKeyAndSelector(t *testing.T) {
	got := make(chan stream.Message[Order], 100)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Order]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink"},
		OutputBindings: "keyed;selected",
		// Dynamic destinations take stream.default.
		Default: stream.BindingConfig{Producer: stream.ProducerConfig{PartitionKeyExpression: "headers['region'] + ':' + payload['customerId']", PartitionCount: 5}},
		Bindings: map[string]stream.BindingConfig{
			"keyed":     {Destination: "orders", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.customerId.toUpperCase() == null ? 1 : 2"}},
			"selected":  {Destination: "orders", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.quantity * 10", PartitionSelectorExpression: "hashCode() / 10 - 1", PartitionCount: 3}},
			"sink-in-0": {Destination: "orders,dyn", Group: "g"},
		},
	}
	msg := newAppErr(t, cfg, fns)
	want := `stream.bindings.keyed.producer.partition-key-expression: expression "payload.customerId.toUpperCase() == null ? 1 : 2": method toUpperCase() is not supported`
	if !strings.Contains(msg, want) {
		t.Fatalf("got %s\nwant %s", msg, want)
	}
	cfg.Bindings["keyed"] = stream.BindingConfig{Destination: "orders", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.customerId.hashCode() % 2 == 0 ? 'even' : payload['customerId']", PartitionCount: 4}}
	r := start(t, cfg, fns)
	ctx := context.Background()
	// keyed: c-7 hashes to 96589 (odd): the key is the id itself.
	if err := r.app.Bridge().Send(ctx, "keyed", Order{CustomerID: "c-7"}); err != nil {
		t.Fatal(err)
	}
	m := recv(t, got)
	if p := m.Headers[stream.HeaderPartition]; p != fmt.Sprint(stream.SelectPartition(96589, 4)) {
		t.Fatalf("keyed: partition %s", p)
	}
	// selected: key 70, hashCode 70, 70/10-1 = 6, |6 % 3| = 0; key 20 → 1 → 1.
	for _, c := range []struct{ qty, want int }{{7, 0}, {2, 1}} {
		if err := r.app.Bridge().Send(ctx, "selected", Order{Quantity: c.qty}); err != nil {
			t.Fatal(err)
		}
		m := recv(t, got)
		if p := m.Headers[stream.HeaderPartition]; p != fmt.Sprint(c.want) {
			t.Fatalf("selected qty %d: partition %s, want %d", c.qty, p, c.want)
		}
	}
	// A dynamic destination: stream.default's SpEL key.
	if err := r.app.Bridge().Send(ctx, "dyn", stream.NewMessage(Order{CustomerID: "c-1"}, "region", "eu")); err != nil {
		t.Fatal(err)
	}
	m = recv(t, got)
	if p, want := m.Headers[stream.HeaderPartition], stream.SelectPartition(stream.StringHash("eu:c-1"), 5); p != fmt.Sprint(want) {
		t.Fatalf("dynamic: partition %s, want %d", p, want)
	}
	// No key: a permanent error naming the expression.
	err := r.app.Bridge().Send(ctx, "selected", map[string]string{"other": "x"})
	if !stream.IsPermanent(err) || !strings.Contains(err.Error(), `expression "payload.quantity * 10"`) {
		t.Fatalf("want a permanent error naming the expression, got %v", err)
	}
}

// partition-count without a key expression is accepted and partitions
// nothing (SCSt: it only sizes the destination).
func TestPartitionCountWithoutKey(t *testing.T) {
	got := make(chan stream.Message[Order], 10)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Order]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink"},
		OutputBindings: "out",
		Bindings: map[string]stream.BindingConfig{
			"out":       {Destination: "orders", Producer: stream.ProducerConfig{PartitionCount: 3}},
			"sink-in-0": {Destination: "orders", Group: "g"},
		},
	}
	r := start(t, cfg, fns)
	if r.app.Binding("out").Config().Producer.IsPartitioned() {
		t.Fatal("partition-count alone must not make the producer partitioned")
	}
	if err := r.app.Bridge().Send(context.Background(), "out", Order{OrderID: "o"}); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, got); m.Headers[stream.HeaderPartition] != "" {
		t.Fatalf("partition header %q", m.Headers[stream.HeaderPartition])
	}
}

func TestHeaderMode(t *testing.T) {
	got := make(chan stream.Message[Order], 10)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[Order]) error { got <- m; return nil })
	stream.AddConsumer(fns, "plain", func(_ context.Context, m stream.Message[Order]) error { got <- m; return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink;plain"},
		OutputBindings: "bare;full",
		Bindings: map[string]stream.BindingConfig{
			"bare":       {Destination: "a", Producer: stream.ProducerConfig{HeaderMode: "none"}},
			"full":       {Destination: "b"},
			"sink-in-0":  {Destination: "a", Group: "g"},
			"plain-in-0": {Destination: "b", Group: "g", Consumer: stream.ConsumerConfig{HeaderMode: "none"}},
		},
	}
	r := start(t, cfg, fns)
	ctx := context.Background()
	for _, out := range []string{"bare", "full"} {
		if err := r.app.Bridge().Send(ctx, out, stream.NewMessage(Order{OrderID: out}, "x-trace", "t1")); err != nil {
			t.Fatal(err)
		}
		m := recv(t, got)
		if m.Payload.OrderID != out {
			t.Fatalf("payload %+v", m.Payload)
		}
		if v, ok := m.Headers["x-trace"]; ok {
			t.Fatalf("%s: header-mode none, yet the function saw x-trace=%q", out, v)
		}
	}
	cfg.Bindings["bare"] = stream.BindingConfig{Destination: "a", Producer: stream.ProducerConfig{HeaderMode: "embeddedHeaders"}}
	cfg.Bindings["plain-in-0"] = stream.BindingConfig{Destination: "b", Group: "g", Consumer: stream.ConsumerConfig{HeaderMode: "raw"}}
	msg := newAppErr(t, cfg, fns)
	for _, want := range []string{
		"stream.bindings.bare.producer.header-mode: embeddedHeaders is not supported: it embeds headers in the payload",
		`stream.bindings.plain-in-0.consumer.header-mode: must be headers or none, got "raw"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in\n%s", want, msg)
		}
	}
}

func TestNativeEncodingAndDecoding(t *testing.T) {
	got := make(chan []byte, 10)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "pass", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[[]byte]) error { got <- m.Payload; return nil })
	stream.AddFunction(fns, "typed", func(_ context.Context, o Order) (Order, error) { return o, nil })
	native := func(fn string) map[string]stream.BindingConfig {
		return map[string]stream.BindingConfig{
			fn + "-in-0":  {Destination: "in", Group: "g", ContentType: "application/avro", Consumer: stream.ConsumerConfig{UseNativeDecoding: true}},
			fn + "-out-0": {Destination: "mid", ContentType: "application/avro", Producer: stream.ProducerConfig{UseNativeEncoding: true}},
			"sink-in-0":   {Destination: "mid", Group: "g", Consumer: stream.ConsumerConfig{UseNativeDecoding: true}},
		}
	}
	msg := newAppErr(t, &stream.Config{Function: stream.FunctionConfig{Definition: "typed;sink"}, Bindings: native("typed")}, fns)
	for _, want := range []string{
		`stream.bindings.typed-in-0.consumer.use-native-decoding: function "typed" takes stream_test.Order; with native decoding the binder's bytes reach it unconverted`,
		`stream.bindings.typed-out-0.producer.use-native-encoding: function "typed" returns stream_test.Order`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in\n%s", want, msg)
		}
	}
	cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "pass;sink"}, OutputBindings: "src", Bindings: native("pass")}
	cfg.Bindings["src"] = stream.BindingConfig{Destination: "in", ContentType: "application/avro"}
	r := start(t, cfg, fns)
	raw := []byte{0x02, 0x06, 'a', 'b', 'c', 0xff}
	if err := r.app.Bridge().Send(context.Background(), "src", raw); err != nil {
		t.Fatal(err)
	}
	if b := recv(t, got); !bytes.Equal(b, raw) {
		t.Fatalf("got % x, want % x", b, raw)
	}
}

var errIllegalState = errors.New("illegal state")

type validationError struct{ field string }

func (e *validationError) Error() string { return "invalid " + e.field }

func TestRetryableExceptions(t *testing.T) {
	opts := []stream.Option{
		stream.WithNamedError("java.lang.IllegalStateException", errIllegalState),
		stream.WithNamedErrorAs[*validationError]("javax.validation.ValidationException"),
	}
	cases := []struct {
		name      string
		retryable map[string]bool
		def       *bool
		err       error
		wantCalls int64
	}{
		{"listed false", map[string]bool{"java.lang.IllegalStateException": false}, nil, fmt.Errorf("charge: %w", errIllegalState), 1},
		{"not listed, default true", map[string]bool{"java.lang.IllegalStateException": false}, nil, errors.New("timeout"), 3},
		{"type listed false", map[string]bool{"javax.validation.ValidationException": false}, nil, fmt.Errorf("x: %w", &validationError{"qty"}), 1},
		{"default false", nil, new(bool), errors.New("timeout"), 1},
		{"default false, listed true", map[string]bool{"java.lang.IllegalStateException": true}, new(bool), errIllegalState, 3},
		{"false wins", map[string]bool{"java.lang.IllegalStateException": true, "javax.validation.ValidationException": false}, nil, errors.Join(errIllegalState, &validationError{"a"}), 1},
		{"case-insensitive names", map[string]bool{"JAVA.LANG.ILLEGALSTATEEXCEPTION": false}, nil, errIllegalState, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cc := fastRetry(3)
			cc.RetryableExceptions, cc.DefaultRetryable = c.retryable, c.def
			r, dead, calls := dlqApp(t, func(context.Context, Order) error { return c.err }, cc, opts...)
			if err := r.app.Bridge().Send(context.Background(), "in", Order{OrderID: "o"}); err != nil {
				t.Fatal(err)
			}
			m := recv(t, dead)
			if !strings.Contains(m.Headers[stream.HeaderExceptionMessage], c.err.Error()) {
				t.Fatalf("dead letter %v", m.Headers)
			}
			if n := calls.Load(); n != c.wantCalls {
				t.Fatalf("called %d times, want %d", n, c.wantCalls)
			}
		})
	}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(context.Context, Order) error { return nil })
	cfg := &stream.Config{Bindings: map[string]stream.BindingConfig{"work-in-0": {Consumer: stream.ConsumerConfig{RetryableExceptions: map[string]bool{"com.acme.Nope": false}}}}}
	msg := newAppErr(t, cfg, fns, opts...)
	want := `stream.bindings.work-in-0.consumer.retryable-exceptions.com.acme.Nope: no error named "com.acme.Nope" (register it with stream.WithNamedError or WithNamedErrorAs; registered: java.lang.illegalstateexception, javax.validation.validationexception)`
	if !strings.Contains(msg, want) {
		t.Fatalf("got %s\nwant %s", msg, want)
	}
}

func TestAppLevelInstanceIndexAndCount(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "a", func(context.Context, Order) error { return nil })
	stream.AddConsumer(fns, "b", func(context.Context, Order) error { return nil })
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "a;b"},
		InstanceIndex: 1, InstanceCount: 3,
		Bindings: map[string]stream.BindingConfig{
			"a-in-0": {Group: "g", Consumer: stream.ConsumerConfig{Partitioned: true}},
			"b-in-0": {Group: "g", Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: 1, InstanceCount: 2}},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		t.Fatal(err)
	}
	if c := app.Binding("a-in-0").Config().Consumer; c.InstanceIndex != 1 || c.InstanceCount != 3 {
		t.Fatalf("a: %d/%d, want the app's 1/3", c.InstanceIndex, c.InstanceCount)
	}
	if c := app.Binding("b-in-0").Config().Consumer; c.InstanceIndex != 1 || c.InstanceCount != 2 {
		t.Fatalf("b: %d/%d, want its own 1/2", c.InstanceIndex, c.InstanceCount)
	}
	// SCSt's -1 means "the app's".
	cfg.Bindings["b-in-0"] = stream.BindingConfig{Group: "g", Consumer: stream.ConsumerConfig{InstanceIndex: -1, InstanceCount: -1}}
	app, err = stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		t.Fatal(err)
	}
	if c := app.Binding("b-in-0").Config().Consumer; c.InstanceIndex != 1 || c.InstanceCount != 3 {
		t.Fatalf("b with -1: %d/%d, want 1/3", c.InstanceIndex, c.InstanceCount)
	}
	// Other negative values are mistakes, not "the app's" (they were
	// read as -1).
	cfg.Bindings["b-in-0"] = stream.BindingConfig{Group: "g", Consumer: stream.ConsumerConfig{InstanceIndex: -2, InstanceCount: -2}}
	msg := newAppErr(t, cfg, fns)
	for _, want := range []string{"stream.bindings.b-in-0.consumer.instance-count: must be at least 1, got -2", "stream.bindings.b-in-0.consumer.instance-index: must be in [0, instance-count=-2), got -2"} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors %s; want %q", msg, want)
		}
	}
	cfg.Bindings["b-in-0"] = stream.BindingConfig{Group: "g"}
	cfg.InstanceIndex = 3
	if msg := newAppErr(t, cfg, fns); !strings.Contains(msg, "stream.instance-index: must be in [0, instance-count=3), got 3") {
		t.Fatal(msg)
	}
}

// One INFO line per binding says what it is bound to.
func TestStartupLogLinePerBinding(t *testing.T) {
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "charge", func(_ context.Context, o Order) (Order, error) { return o, nil })
	stream.AddConsumer(fns, "audit", func(context.Context, []byte) error { return nil })
	cfg := &stream.Config{
		Function: stream.FunctionConfig{Definition: "charge;audit"},
		Bindings: map[string]stream.BindingConfig{
			"charge-in-0": {Destination: "orders", Group: "payment", Consumer: stream.ConsumerConfig{DLQ: true}},
			// A dead-letter reader says whose dead letters it reads.
			"audit-in-0":   {Group: "audit", Consumer: stream.ConsumerConfig{DeadLettersOf: "charge-in-0"}},
			"charge-out-0": {Destination: "payments", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.customerId", PartitionCount: 2}},
		},
	}
	start(t, cfg, fns, stream.WithLogger(log))
	lines := map[string]string{}
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, `msg="binding bound"`) {
			for _, f := range strings.Fields(l) {
				if name, ok := strings.CutPrefix(f, "binding="); ok {
					if _, dup := lines[name]; dup {
						t.Fatalf("two lines for %s", name)
					}
					lines[name] = l
				}
			}
		}
	}
	for name, want := range map[string][]string{
		"charge-in-0":  {"level=INFO", "destination=orders", "binder=memory", "binder_type=memory", "group=payment", "dlq_enabled=true", "queue=orders.payment", "dlq=error.orders.payment"},
		"charge-out-0": {"level=INFO", "destination=payments", "binder=memory", "partition_count=2", "partition_key_expression=payload.customerId"},
		"audit-in-0":   {"level=INFO", "destination=error.orders.payment", "group=audit", "dead_letters_of=charge-in-0"},
	} {
		l, ok := lines[name]
		if !ok {
			t.Fatalf("no line for %s in\n%s", name, buf.String())
		}
		for _, w := range want {
			if !strings.Contains(l, w) {
				t.Errorf("%s: %q lacks %q", name, l, w)
			}
		}
	}
}

// A concurrency of a typo's size is refused: the in-process binder started
// that many goroutines (100,000,000 of them).
func TestConcurrencyBounded(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "a", func(context.Context, string) error { return nil })
	cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "a"},
		Bindings: map[string]stream.BindingConfig{"a-in-0": {Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 100000000}}}}
	if msg := newAppErr(t, cfg, fns); !strings.Contains(msg, "stream.bindings.a-in-0.consumer.concurrency: must be at most 65536") {
		t.Fatal(msg)
	}
}
