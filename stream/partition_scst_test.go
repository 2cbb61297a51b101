package stream_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestPartitionCountAboveInt32Refused: SCSt's partitionCount and
// instanceCount are Java ints. 2^32 used to pass validation and panic
// (integer divide by zero) on the first send; 2^31 gave negative partitions.
func TestPartitionCountAboveInt32Refused(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "fwd", func(_ context.Context, o Order) (Order, error) { return o, nil })
	for _, n := range []int{1 << 31, 1 << 32, 1<<32 + 3} {
		cfg := &stream.Config{Bindings: map[string]stream.BindingConfig{
			"fwd-out-0": {Destination: "d", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.orderId", PartitionCount: n}},
			"fwd-in-0":  {Destination: "s", Group: "g", Consumer: stream.ConsumerConfig{Partitioned: true, InstanceCount: n}},
		}}
		msg := newAppErr(t, cfg, fns)
		for _, want := range []string{
			"stream.bindings.fwd-out-0.producer.partition-count: must be at most 2147483647",
			"stream.bindings.fwd-in-0.consumer.instance-count: must be at most 2147483647",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("count %d: errors %s; want %q", n, msg, want)
			}
		}
	}

	// A binding the send bridge binds at its first send: an error, not a
	// panic.
	fns = stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, Order) error { return nil })
	cfg := &stream.Config{Bindings: map[string]stream.BindingConfig{
		"out": {Destination: "d", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.orderId", PartitionCount: 1 << 32}},
	}}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		if !strings.Contains(err.Error(), "must be at most 2147483647") {
			t.Fatal(err)
		}
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-app.Ready()
	err = app.Bridge().Send(ctx, "out", stream.NewMessage(Order{OrderID: "o-1"}))
	if err == nil || !strings.Contains(err.Error(), "partition-count: must be at most 2147483647") {
		t.Fatalf("send: %v, want the partition-count error", err)
	}
}

// TestSelectPartitionMinValueAsSCSt: SCSt's DefaultPartitionSelector maps
// a hashCode of Integer.MIN_VALUE to 0 before abs and % partitionCount;
// streambind took abs(-2^31 % n), another partition whenever n is not a
// power of two. Expected values computed with SCSt's code in Java.
func TestSelectPartitionMinValueAsSCSt(t *testing.T) {
	for _, key := range []any{"polygenelubricants", "GydZG_", -2147483648, int64(2147483648)} {
		h := stream.PartitionHash(key)
		if h != -2147483648 {
			t.Fatalf("PartitionHash(%v) = %d, want -2^31", key, h)
		}
		for _, n := range []int{3, 5, 7, 12} {
			if got := stream.SelectPartition(h, n); got != 0 {
				t.Errorf("key %v, %d partitions: partition %d, want 0 (SCSt's)", key, n, got)
			}
		}
	}
	// Other negative hashes: abs(hash) % n, as before.
	if got := stream.SelectPartition(-7, 3); got != 1 {
		t.Errorf("SelectPartition(-7, 3) = %d, want 1", got)
	}
	if got := stream.SelectPartition(-2147483647, 5); got != 2147483647%5 {
		t.Errorf("SelectPartition(-2^31+1, 5) = %d, want %d", got, 2147483647%5)
	}
}

// TestPartitionHashJacksonBooleansAndDoubles: Jackson reads JSON true/false
// as Boolean and a number with a fraction or exponent (2.0 too) as Double,
// so SCSt's default hash is Boolean.hashCode / Double.hashCode; streambind
// hashed the text ("true".hashCode()) and 2.0 as the integer 2. Integers
// keep Integer/Long.hashCode. Expected values from Java (jshell). The key
// text (the record key) is that of the same Java type: Double.toString.
func TestPartitionHashJacksonBooleansAndDoubles(t *testing.T) {
	e, err := stream.ParseKeyExpression("payload.customerId")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		json    string
		hash    int32
		keyText string
	}{
		{`true`, 1231, "true"},
		{`false`, 1237, "false"},
		{`1.5`, 1073217536, "1.5"},
		{`-2.5`, -1073479680, "-2.5"},
		{`2.0`, 1073741824, "2.0"},
		{`1e3`, 1083129856, "1000.0"},
		{`-0.0`, -2147483648, "-0.0"},
		{`7`, 7, "7"},
		{`-7`, -7, "-7"},
		{`9876543210123`, -1881568656, "9876543210123"},
		{`1e21`, -1834355276, "1.0E21"},
		{`0.0001`, -737774129, "1.0E-4"},
	} {
		payload := []byte(`{"customerId":` + c.json + `}`)
		for _, p := range []any{payload, string(payload)} {
			k, err := e.Extract(p, nil)
			if err != nil {
				t.Fatalf("%s: %v", c.json, err)
			}
			if got := stream.PartitionHash(k); got != c.hash {
				t.Errorf("%s (%T payload): hash %d, want Java's %d", c.json, p, got, c.hash)
			}
			if got := stream.KeyString(k); got != c.keyText {
				t.Errorf("%s: key text %q, want %q", c.json, got, c.keyText)
			}
		}
	}
	// Go values: a bool and a float64 with a fraction as Java's Boolean and
	// Double; a whole float64 (encoding/json's JSON 7) as the integer.
	for _, c := range []struct {
		key  any
		want int32
	}{{true, 1231}, {false, 1237}, {1.5, 1073217536}, {float64(7), 7}} {
		if got := stream.PartitionHash(c.key); got != c.want {
			t.Errorf("PartitionHash(%T %v) = %d, want %d", c.key, c.key, got, c.want)
		}
	}
}

// TestPartitionKeyRawMessageAndNullKey: a json.RawMessage payload is JSON
// bytes as []byte is (payload.customerId failed with `cannot take
// "customerId" of slice`), and a key expression yielding null names the
// expression (the error was `partition key: key is nil`).
func TestPartitionKeyRawMessageAndNullKey(t *testing.T) {
	e, err := stream.ParseKeyExpression("payload.customerId")
	if err != nil {
		t.Fatal(err)
	}
	type rawBytes []byte
	for _, p := range []any{json.RawMessage(`{"customerId":"c-7"}`), rawBytes(`{"customerId":"c-7"}`)} {
		if k, err := e.Extract(p, nil); err != nil || k != "c-7" {
			t.Errorf("%T: key %v, %v; want c-7", p, k, err)
		}
	}

	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, Order) error { return nil })
	cfg := &stream.Config{Bindings: map[string]stream.BindingConfig{
		"raw": {Destination: "d", Producer: stream.ProducerConfig{PartitionKeyExpression: "payload.customerId", PartitionCount: 3}},
		"hdr": {Destination: "d", Producer: stream.ProducerConfig{PartitionKeyExpression: "headers['x']", PartitionCount: 3}},
	}}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-app.Ready()
	if err := app.Bridge().Send(ctx, "raw", stream.NewMessage(json.RawMessage(`{"customerId":"c-7"}`))); err != nil {
		t.Errorf("RawMessage payload: %v", err)
	}
	err = app.Bridge().Send(ctx, "hdr", stream.NewMessage(json.RawMessage(`{}`)))
	if err == nil || !strings.Contains(err.Error(), "headers['x'] is null") {
		t.Errorf("no header x: %v, want an error naming headers['x']", err)
	}
}
