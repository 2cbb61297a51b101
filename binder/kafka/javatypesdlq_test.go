package kafka_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// javaTypedHeaders are the headers of a record a Java SCSt producer wrote
// through its BinderHeaderMapper: contentType (a MimeType) as a JSON
// string listed as java.lang.String, a Long as its JSON text listed as
// java.lang.Long, an SCSt 2.x MimeType object listed as
// org.springframework.util.MimeType, and two byte[] headers, not listed
// (one UTF-8 text, one not).
var javaTypedHeaders = []kafkago.Header{
	{Key: "contentType", Value: []byte(`"application/json"`)},
	{Key: "x-count", Value: []byte("5")},
	{Key: "x-mime", Value: []byte(`{"type":"text","subtype":"plain","parameters":{}}`)},
	{Key: "x-blob", Value: []byte("abc")},
	{Key: "x-bin", Value: []byte{0xff, 0x00}},
	{Key: "spring_json_header_types", Value: []byte(`{"contentType":"java.lang.String","x-count":"java.lang.Long","x-mime":"org.springframework.util.MimeType"}`)},
}

// javaTypes is what javaTypedHeaders' types header lists.
var javaTypes = map[string]string{"contentType": "java.lang.String", "x-count": "java.lang.Long", "x-mime": "org.springframework.util.MimeType"}

// recordTypes returns the classes the one spring_json_header_types header
// of hs lists, and hs's values by name.
func recordTypes(t *testing.T, what string, hs []kafkago.Header) (map[string]string, map[string]string) {
	t.Helper()
	raw := map[string]string{}
	n := 0
	for _, h := range hs {
		raw[h.Key] = string(h.Value)
		if h.Key == "spring_json_header_types" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%s: %d spring_json_header_types headers, want 1", what, n)
	}
	var types map[string]string
	if err := json.Unmarshal([]byte(raw["spring_json_header_types"]), &types); err != nil {
		t.Fatalf("%s: spring_json_header_types %q: %v", what, raw["spring_json_header_types"], err)
	}
	return types, raw
}

// checkJavaHeadersKept checks that the headers of javaTypedHeaders went
// as the Java producer wrote them (byte for byte) into a record whose
// headers are raw.
func checkJavaHeadersKept(t *testing.T, what string, raw map[string]string) {
	t.Helper()
	for _, h := range javaTypedHeaders[:5] {
		if raw[h.Key] != string(h.Value) {
			t.Errorf("%s: header %s %q, want %q as the Java producer wrote it", what, h.Key, raw[h.Key], h.Value)
		}
	}
}

// TestDeadLetterKeepsJavaHeaderTypes: the dead letter of a record a Java
// SCSt producer wrote keeps the Java types of the headers it copies, as
// SCSt's dead-letter writer (Spring Kafka's DeadLetterPublishingRecoverer:
// new RecordHeaders(record.headers().toArray()), then its own headers as
// byte[]) does: its spring_json_header_types lists the Long as
// java.lang.Long and the MimeType as the MimeType, leaves the byte[]
// headers out, and adds nothing for x-exception-* and x-original-*
// (byte[]); the copied values are the record's bytes. Before, every UTF-8
// header was listed as java.lang.String: a Java consumer of the DLQ read
// the Long and the byte[] header as Strings (and the MimeType's decoded
// text as a String).
func TestDeadLetterKeepsJavaHeaderTypes(t *testing.T) {
	t.Parallel()
	const topic = "java-types-dlq"
	c := startRefusingDLQ(t, topic)
	writeJavaRecord(t, c, topic)
	dl := readRaw(t, c, stream.DLQName(topic, "g"), 1)[0]
	hs := make([]kafkago.Header, 0, len(dl.Headers))
	for _, h := range dl.Headers {
		hs = append(hs, kafkago.Header{Key: h.Key, Value: h.Value})
	}
	types, raw := recordTypes(t, "dead letter", hs)
	if !maps.Equal(types, javaTypes) {
		t.Errorf("dead letter's spring_json_header_types lists %v, want the record's %v", types, javaTypes)
	}
	checkJavaHeadersKept(t, "dead letter", raw)
	if raw[stream.HeaderExceptionMessage] != "refused" || raw[stream.HeaderOriginalTopic] != topic {
		t.Errorf("dead letter: headers %v, want x-exception-message and x-original-topic", raw)
	}
}

// startRefusingDLQ starts a cluster and, on topic, a consumer of group g
// with a DLQ that refuses every message for good.
func startRefusingDLQ(t *testing.T, topic string) *kafkatest.Cluster {
	t.Helper()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	spec := consumerSpec(topic, "g", func(context.Context, stream.Envelope) error {
		return stream.Permanent(errors.New("refused"))
	})
	spec.Consumer.DLQ = true
	startConsumer(t, b, spec)
	return c
}

// TestRetryCopyKeepsJavaHeaderTypes: the retry topic's copy of such a
// record (retry-delays) keeps them too, and lists the retry headers it
// adds (x-streambind-retry-*, text) as java.lang.String; the retry
// delivery reads the headers as the first delivery did.
func TestRetryCopyKeepsJavaHeaderTypes(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	const topic = "java-types-retry"
	const delay = 100 * time.Millisecond
	deliveries := make(chan stream.Headers, 4)
	spec := consumerSpec(topic, "g", func(_ context.Context, m stream.Envelope) error {
		deliveries <- m.Headers.Clone()
		if m.Headers[stream.HeaderRetryAttempts] == "" {
			// As the core parks a failed message (its retry headers).
			err := errors.New("later")
			h := stream.DeadLetterHeaders(m.Headers, err)
			h[stream.HeaderRetryAttempts] = "1"
			h[stream.HeaderRetryFirstFailure] = strconv.FormatInt(time.Now().UnixMilli(), 10)
			h[stream.HeaderRetryDue] = strconv.FormatInt(time.Now().Add(delay).UnixMilli(), 10)
			return &stream.DelayedRetry{Err: err, Delay: delay, Headers: h}
		}
		return nil
	})
	spec.Consumer.RetryDelays = []time.Duration{delay}
	startConsumer(t, b, spec)
	writeJavaRecord(t, c, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var first, retried stream.Headers
	for _, h := range []*stream.Headers{&first, &retried} {
		select {
		case *h = <-deliveries:
		case <-ctx.Done():
			t.Fatal("no retry delivery")
		}
	}
	rc := readRaw(t, c, kafka.RetryTopicName(topic, "g", delay), 1)[0]
	hs := make([]kafkago.Header, 0, len(rc.Headers))
	for _, h := range rc.Headers {
		hs = append(hs, kafkago.Header{Key: h.Key, Value: h.Value})
	}
	types, raw := recordTypes(t, "retry copy", hs)
	want := maps.Clone(javaTypes)
	for k := range raw {
		// x-streambind-replayed-id: the id-less record's delivery
		// identity, its idempotency key (keepOriginalIdentity).
		if strings.HasPrefix(k, "x-streambind-retry-") || k == stream.HeaderReplayedID {
			want[k] = "java.lang.String"
		}
	}
	if got, want := raw[stream.HeaderReplayedID], "kafka:"+topic+":0:0"; got != want {
		t.Errorf("retry copy's %s = %q, want the original's identity %q", stream.HeaderReplayedID, got, want)
	}
	if !maps.Equal(types, want) {
		t.Errorf("retry copy's spring_json_header_types lists %v, want %v", types, want)
	}
	checkJavaHeadersKept(t, "retry copy", raw)
	for _, k := range []string{"contentType", "x-count", "x-mime", "x-blob", "x-bin"} {
		if first[k] != retried[k] {
			t.Errorf("header %s reads %q on the retry delivery, %q on the first", k, retried[k], first[k])
		}
	}
}

// writeJavaRecord writes a record with javaTypedHeaders to topic.
func writeJavaRecord(t *testing.T, c *kafkatest.Cluster, topic string) {
	t.Helper()
	w := &kafkago.Writer{Addr: kafkago.TCP(c.Addrs()...), Topic: topic, RequiredAcks: kafkago.RequireAll, Transport: &kafkago.Transport{}}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, kafkago.Message{Value: []byte(`{}`), Headers: javaTypedHeaders}); err != nil {
		t.Fatal(err)
	}
}
