package kafka_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// javaOrder is the payload of the Java producer's records.
type javaOrder struct {
	OrderID string `json:"orderId"`
}

// TestJavaSCStTypedHeadersInbound: records as a Java SCSt producer writes
// them through its BinderHeaderMapper reach a typed JSON consumer with
// their headers decoded, and without spring_json_header_types. Before,
// every one failed for good: its contentType read "application/json"
// with the quotes, which no converter takes.
//
// What the Java side writes (spring-cloud-stream's Kafka binder,
// BinderHeaderMapper.fromHeaders):
//
//	String className = valueToAdd.getClass().getName();
//	if (this.toStringClasses.contains(className)) {   // MimeType, MediaType
//		valueToAdd = valueToAdd.toString();
//		className = JAVA_LANG_STRING;
//	}
//	if (!this.encodeStrings
//			&& !MimeType.class.isAssignableFrom(rawValue.getClass())
//			&& valueToAdd instanceof String stringValueToAdd) {
//		target.add(new RecordHeader(key, stringValueToAdd.getBytes(getCharset())));
//		className = JAVA_LANG_STRING;
//	}
//	else {
//		target.add(new RecordHeader(key, headerObjectMapper.writeValueAsBytes(valueToAdd)));
//	}
//	jsonHeaders.put(key, className);
//	...
//	target.add(new RecordHeader(JSON_TYPES, headerObjectMapper.writeValueAsBytes(jsonHeaders)));
//
// So SCSt's contentType (a MimeType) goes as the JSON string
// "application/json" listed as java.lang.String, a String header as its
// raw bytes listed as java.lang.String (JSON-quoted under
// encodeStrings, as Spring Kafka before 2.3 wrote every String), an
// Integer as its JSON text listed as java.lang.Integer; SCSt 2.x listed
// a MimeType as org.springframework.util.MimeType, written by Jackson as
// an object. A record without the types header (an earlier streambind)
// reads as before.
func TestJavaSCStTypedHeadersInbound(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	const topic = "java-typed-in"
	cfg := &stream.Config{
		Function:      stream.FunctionConfig{Definition: "sink"},
		Binders:       map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
		DefaultBinder: "k",
		Bindings: map[string]stream.BindingConfig{
			"sink-in-0": {Destination: topic, Group: "g", Consumer: stream.ConsumerConfig{MaxAttempts: 1}},
		},
	}
	type got struct {
		order   javaOrder
		headers stream.Headers
	}
	var mu sync.Mutex
	recv := map[string]got{}
	done := make(chan struct{})
	const records = 5
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[javaOrder]) error {
		mu.Lock()
		defer mu.Unlock()
		recv[m.Payload.OrderID] = got{m.Payload, m.Headers}
		if len(recv) == records {
			close(done)
		}
		return nil
	})
	runApp(t, cfg, fns, slog.New(slog.DiscardHandler))

	h := func(kv ...string) []kafkago.Header {
		var hs []kafkago.Header
		for i := 0; i+1 < len(kv); i += 2 {
			hs = append(hs, kafkago.Header{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return hs
	}
	msgs := []kafkago.Message{
		// SCSt 4 with its defaults: contentType a MimeType, x-tenant a
		// String, n an Integer, flag a Boolean.
		{Value: []byte(`{"orderId":"scst4"}`), Headers: h(
			"contentType", `"application/json"`,
			"x-tenant", "t1",
			"n", "5",
			"flag", "true",
			"spring_json_header_types", `{"contentType":"java.lang.String","x-tenant":"java.lang.String","n":"java.lang.Integer","flag":"java.lang.Boolean"}`)},
		// encodeStrings (every String JSON-encoded), with an escape.
		{Value: []byte(`{"orderId":"encoded"}`), Headers: h(
			"contentType", `"application/json;charset=UTF-8"`,
			"x-tenant", `"t\"2"`,
			"spring_json_header_types", `{"contentType":"java.lang.String","x-tenant":"java.lang.String"}`)},
		// SCSt 2.x: the MimeType as a Jackson object.
		{Value: []byte(`{"orderId":"scst2"}`), Headers: h(
			"contentType", `{"type":"application","subtype":"json","parameters":{},"wildcardType":false,"concrete":true}`,
			"spring_json_header_types", `{"contentType":"org.springframework.util.MimeType"}`)},
		// A header not listed is its bytes, quotes and all.
		{Value: []byte(`{"orderId":"unlisted"}`), Headers: h(
			"contentType", "application/json",
			"x-raw", `"q"`,
			"spring_json_header_types", `{"contentType":"java.lang.String"}`)},
		// An earlier streambind's record: no types header.
		{Value: []byte(`{"orderId":"old"}`), Headers: h("contentType", "application/json", "x-tenant", `"t5"`)},
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, RequiredAcks: kafkago.RequireAll, Transport: &kafkago.Transport{}}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("the consumer got %d of %d records: %v", len(recv), records, recv)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]map[string]string{
		"scst4":    {"contentType": "application/json", "x-tenant": "t1", "n": "5", "flag": "true"},
		"encoded":  {"contentType": "application/json;charset=UTF-8", "x-tenant": `t"2`},
		"scst2":    {"contentType": "application/json"},
		"unlisted": {"contentType": "application/json", "x-raw": `"q"`},
		"old":      {"contentType": "application/json", "x-tenant": `"t5"`},
	}
	for id, wh := range want {
		g := recv[id]
		for k, v := range wh {
			if g.headers[k] != v {
				t.Errorf("record %s: header %s = %q, want %q", id, k, g.headers[k], v)
			}
		}
		if v, ok := g.headers["spring_json_header_types"]; ok {
			t.Errorf("record %s: the handler sees spring_json_header_types (%s)", id, v)
		}
	}
}

// TestProducerWritesJSONHeaderTypes: the producer's records carry
// spring_json_header_types listing every text header as java.lang.String,
// in name order, so that a Java SCSt consumer (BinderHeaderMapper.toHeaders:
// a header not listed reads as byte[]) reads them as Strings; values go
// raw, as SCSt's producer writes a String, but one starting with '"'
// (which the Java mapper would JSON-decode) goes JSON-encoded, and a
// header that is not UTF-8 is not listed (byte[] for Java). Our own
// consumer reads the records back with the headers sent, and without the
// types header. Before, no types header was written.
func TestProducerWritesJSONHeaderTypes(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	const topic = "json-types-out"
	p := bindProducer(t, b, topic, 1)
	sent := stream.Headers{"x-tenant": "t1", "quoted": `"q"`, "bin": "\xff\x00", "id": "id-1"}
	if err := p.Send(context.Background(), stream.Envelope{Payload: []byte(`{}`), Headers: sent}); err != nil {
		t.Fatal(err)
	}
	r := readRaw(t, c, topic, 1)[0]
	raw := map[string]string{}
	for _, h := range r.Headers {
		raw[h.Key] = string(h.Value)
	}
	const wantTypes = `{"contentType":"java.lang.String","id":"java.lang.String","quoted":"java.lang.String","x-tenant":"java.lang.String"}`
	if got := raw["spring_json_header_types"]; got != wantTypes {
		t.Errorf("spring_json_header_types = %s, want %s", got, wantTypes)
	}
	for k, v := range map[string]string{"x-tenant": "t1", "quoted": `"\"q\""`, "bin": "\xff\x00",
		"contentType": stream.DefaultContentType, "id": "id-1"} {
		if raw[k] != v {
			t.Errorf("record header %s = %q, want %q", k, raw[k], v)
		}
	}

	// Round trip through our consumer.
	envs := make(chan stream.Envelope, 1)
	startConsumer(t, b, consumerSpec(topic, "rt", func(_ context.Context, m stream.Envelope) error {
		select {
		case envs <- m:
		default:
		}
		return nil
	}))
	select {
	case m := <-envs:
		for k, v := range sent {
			if m.Headers[k] != v {
				t.Errorf("read back: header %s = %q, want %q", k, m.Headers[k], v)
			}
		}
		if v, ok := m.Headers["spring_json_header_types"]; ok {
			t.Errorf("read back: the handler sees spring_json_header_types (%s)", v)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the record was not read back within 30s")
	}
}

// TestDeadLetterOfJavaRecordTypes: the dead letter of a Java SCSt
// producer's record carries one types header: the contentType and the
// String header listed as java.lang.String, as the record listed them,
// with the record's values (the contentType's JSON string, which a Java
// reader and ours decode, see TestJavaSCStTypedHeadersInbound), the
// x-exception-* and x-original-* headers not listed (byte[] for a Java
// consumer, as SCSt's Kafka binder writes them). Before 8f3ddb7 the dead
// letter carried the quoted contentType without a types header (a
// streambind reader of the dead letter failed on it as the original did);
// until TestDeadLetterKeepsJavaHeaderTypes it carried the decoded text.
func TestDeadLetterOfJavaRecordTypes(t *testing.T) {
	t.Parallel()
	const topic = "java-typed-dlq"
	c := startRefusingDLQ(t, topic)
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, RequiredAcks: kafkago.RequireAll, Transport: &kafkago.Transport{}}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// As BinderHeaderMapper.fromHeaders writes a MimeType contentType and
	// a String header (see TestJavaSCStTypedHeadersInbound).
	if err := w.WriteMessages(ctx, kafkago.Message{Value: []byte(`{}`), Headers: []kafkago.Header{
		{Key: "contentType", Value: []byte(`"application/json"`)},
		{Key: "x-tenant", Value: []byte("t1")},
		{Key: "spring_json_header_types", Value: []byte(`{"contentType":"java.lang.String","x-tenant":"java.lang.String"}`)},
	}}); err != nil {
		t.Fatal(err)
	}
	dl := readRaw(t, c, stream.DLQName(topic, "g"), 1)[0]
	raw := map[string]string{}
	n := 0
	for _, h := range dl.Headers {
		raw[h.Key] = string(h.Value)
		if h.Key == "spring_json_header_types" {
			n++
		}
	}
	const want = `{"contentType":"java.lang.String","x-tenant":"java.lang.String"}`
	if n != 1 || raw["spring_json_header_types"] != want {
		t.Errorf("dead letter: %d spring_json_header_types headers, %s; want one, %s", n, raw["spring_json_header_types"], want)
	}
	if raw["contentType"] != `"application/json"` || raw["x-tenant"] != "t1" {
		t.Errorf("dead letter: contentType %q, x-tenant %q; want \"application/json\" (as the record had it), t1", raw["contentType"], raw["x-tenant"])
	}
	if raw[stream.HeaderExceptionMessage] == "" || raw[stream.HeaderOriginalTopic] != topic {
		t.Errorf("dead letter: headers %v, want x-exception-message and x-original-topic", raw)
	}
}
