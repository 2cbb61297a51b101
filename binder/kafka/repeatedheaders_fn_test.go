package kafka_test

// A header a record carries more than once, through a function: Spring
// Kafka's header mapper (DefaultKafkaHeaderMapper.toHeaders) puts each
// header into the message's header map, so the last value wins, and the
// output message is written with that one value (a Java-typed one in its
// class); its DeadLetterPublishingRecoverer (dead letters, retry topics)
// copies the record's headers as they are, every value.

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// repeatedInput are the headers of the tests' records: x twice (1, 2),
// and level, which a Java producer typed as Integer, twice (4, 5).
func repeatedInput() []kgo.RecordHeader {
	return []kgo.RecordHeader{
		{Key: "x", Value: []byte("1")}, {Key: "level", Value: []byte("4")},
		{Key: "x", Value: []byte("2")}, {Key: "level", Value: []byte("5")},
		{Key: "spring_json_header_types", Value: []byte(`{"level":"java.lang.Integer"}`)},
	}
}

// recordValues returns the values of header k of r, in record order.
func recordValues(r *kgo.Record, k string) []string {
	var vs []string
	for _, h := range r.Headers {
		if h.Key == k {
			vs = append(vs, string(h.Value))
		}
	}
	return vs
}

// jsonTypesOf returns r's spring_json_header_types, parsed.
func jsonTypesOf(t *testing.T, r *kgo.Record) map[string]string {
	t.Helper()
	raw := recordValues(r, "spring_json_header_types")
	if len(raw) != 1 {
		t.Fatalf("%s: spring_json_header_types %q, want one", r.Topic, raw)
	}
	var types map[string]string
	if err := json.Unmarshal([]byte(raw[0]), &types); err != nil {
		t.Fatalf("%s: spring_json_header_types %q: %v", r.Topic, raw[0], err)
	}
	return types
}

// TestRepeatedHeaderOnceInFunctionOutput: a Kafka-to-Kafka function's
// output carries a header its input had twice once, with the value the
// handler read (the last), or the one the function set; a Java-typed
// one goes once in its class. A retry topic's copy of the input keeps
// every value (as Spring's DeadLetterPublishingRecoverer copies the
// record), and the output of its retry carries one. Before, the output
// was written with x 1, x 2, level 4, level 5, level listed as a String.
func TestRepeatedHeaderOnceInFunctionOutput(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	type seenHeaders struct{ x, level string }
	seen := make(chan seenHeaders, 4)
	var tries atomic.Int32
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "plain", func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	stream.AddFunction(fns, "msg", func(_ context.Context, m stream.Message[string]) (stream.Message[string], error) {
		seen <- seenHeaders{m.Headers["x"], m.Headers["level"]}
		return stream.Message[string]{Payload: m.Payload + "!", Headers: m.Headers}, nil
	})
	stream.AddFunction(fns, "chg", func(_ context.Context, m stream.Message[string]) (stream.Message[string], error) {
		return stream.Message[string]{Payload: m.Payload + "!", Headers: m.Headers.With("x", "3")}, nil
	})
	stream.AddFunction(fns, "retried", func(_ context.Context, s string) (string, error) {
		if tries.Add(1) == 1 {
			return "", errors.New("fails once")
		}
		return s + "!", nil
	})
	in, out := map[string]string{}, map[string]string{}
	bindings := map[string]stream.BindingConfig{}
	for _, fn := range []string{"plain", "msg", "chg", "retried"} {
		in[fn], out[fn] = uniqueTopic(t), uniqueTopic(t)
		bindings[fn+"-in-0"] = stream.BindingConfig{Destination: in[fn], Group: "g", ContentType: "text/plain"}
		bindings[fn+"-out-0"] = stream.BindingConfig{Destination: out[fn], ContentType: "text/plain"}
	}
	const delay = 100 * time.Millisecond
	r := bindings["retried-in-0"]
	r.Consumer = stream.ConsumerConfig{MaxAttempts: 1, RetryDelays: []time.Duration{delay}}
	bindings["retried-in-0"] = r
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "plain;msg;chg;retried"},
		DefaultBinder: "k",
		Binders: map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{
			"brokers": c.Brokers()}}},
		Bindings: bindings,
	}
	runApp(t, cfg, fns, slog.New(slog.DiscardHandler))
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, topic := range in {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("m"), Headers: repeatedInput()}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case s := <-seen:
		if s.x != "2" || s.level != "5" {
			t.Errorf("the handler read x %q, level %q: want the last values, 2 and 5", s.x, s.level)
		}
	case <-ctx.Done():
		t.Fatal("msg was not called")
	}
	for fn, wantX := range map[string]string{"plain": "2", "msg": "2", "chg": "3", "retried": "2"} {
		rec := readRaw(t, c, out[fn], 1)[0]
		if got := recordValues(rec, "x"); !slices.Equal(got, []string{wantX}) {
			t.Errorf("%s's output: header x %q, want [%s]", fn, got, wantX)
		}
		if got := recordValues(rec, "level"); !slices.Equal(got, []string{"5"}) {
			t.Errorf("%s's output: header level %q, want [5]", fn, got)
		}
		if got := jsonTypesOf(t, rec)["level"]; got != "java.lang.Integer" {
			t.Errorf("%s's output lists level as %q, want java.lang.Integer", fn, got)
		}
	}
	rc := readRaw(t, c, kafka.RetryTopicName(in["retried"], "g", delay), 1)[0]
	if got := recordValues(rc, "x"); !slices.Equal(got, []string{"1", "2"}) {
		t.Errorf("retry copy: header x %q, want [1 2] (the record's)", got)
	}
	if got := recordValues(rc, "level"); !slices.Equal(got, []string{"4", "5"}) {
		t.Errorf("retry copy: header level %q, want [4 5] (the record's)", got)
	}
	if got := jsonTypesOf(t, rc)["level"]; got != "java.lang.Integer" {
		t.Errorf("retry copy lists level as %q, want java.lang.Integer", got)
	}
}

// TestRepeatedJavaTypedHeaderInDeadLetterAndReplay: the dead letter of a
// record with a Java-typed header twice has both values, listed in the
// record's class, as Spring's DeadLetterPublishingRecoverer copies them;
// so has its replay. Before, the replay listed the header as a String.
func TestRepeatedJavaTypedHeaderInDeadLetterAndReplay(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	src := uniqueTopic(t)
	dlq := stream.DLQName(src, "g")
	createTopic(t, c, src, 1, nil)
	createTopic(t, c, dlq, 1, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic(src))
	if err != nil {
		t.Fatal(err)
	}
	err = cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v"), Headers: repeatedInput()}).FirstErr()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	spec := consumerSpec(src, "g", func(context.Context, stream.Envelope) error {
		return stream.Permanent(errors.New("fails"))
	})
	spec.Consumer.DLQ = true
	startConsumer(t, b, spec)
	check := func(what string, rec *kgo.Record) {
		t.Helper()
		if got := recordValues(rec, "x"); !slices.Equal(got, []string{"1", "2"}) {
			t.Errorf("%s: header x %q, want [1 2]", what, got)
		}
		if got := recordValues(rec, "level"); !slices.Equal(got, []string{"4", "5"}) {
			t.Errorf("%s: header level %q, want [4 5]", what, got)
		}
		if got := jsonTypesOf(t, rec)["level"]; got != "java.lang.Integer" {
			t.Errorf("%s lists level as %q, want java.lang.Integer", what, got)
		}
	}
	check("dead letter", readRaw(t, c, dlq, 1)[0])

	dls, err := b.(*kafka.Binder).OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dls.Next(ctx)
	_ = dls.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := uniqueTopic(t)
	createTopic(t, c, out, 1, nil)
	p := bindProducer(t, b, out, 1)
	if err := p.Send(ctx, stream.ReplayEnvelope(d)); err != nil {
		t.Fatal(err)
	}
	check("replayed copy", readRaw(t, c, out, 1)[0])
}
