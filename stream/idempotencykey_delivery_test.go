package stream_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestDefaultIdempotencyKeyFallsBackToDeliveryIdentity: a message without
// x-streambind-replayed-id and id — what a Java Spring Cloud Stream
// producer sends: Spring Kafka's header mapper excludes id, Spring AMQP
// sets no message_id unless told to — is keyed under the default
// key-expression by where the broker stored it (Kafka topic, partition,
// offset; the JetStream stream sequence; the Redis entry ID), the same on
// each redelivery of it. Where the binder has no such identity (RabbitMQ,
// whose message_id is the id header already) the key is
// ErrNoIdempotencyKey, not a permanent error: the message is handled
// without deduplication. Before, every such message failed for good
// ("expression ... yielded null"): dead-lettered, or dropped.
func TestDefaultIdempotencyKeyFallsBackToDeliveryIdentity(t *testing.T) {
	kafkaAt := stream.Received{Destination: "javaorders", Partition: 2, HasPartition: true, Offset: 41, HasOffset: true}
	for _, c := range []struct {
		name, binder string
		headers      stream.Headers
		r            stream.Received
		want         string // "" : ErrNoIdempotencyKey
	}{
		{"kafka java record", "kafka", stream.Headers{"contentType": "application/json"}, kafkaAt, "kafka:javaorders:2:41"},
		{"kafka empty id", "kafka", stream.Headers{"id": ""}, kafkaAt, "kafka:javaorders:2:41"},
		{"kafka with id", "kafka", stream.Headers{"id": "m-1"}, kafkaAt, "m-1"},
		// A dead letter's replayed copy has a new offset: its key is the
		// original's id still.
		{"kafka replayed copy", "kafka", stream.Headers{stream.HeaderReplayedID: "orig-1", "id": "copy-1"}, kafkaAt, "orig-1"},
		{"kafka replayed copy, no id", "kafka", stream.Headers{stream.HeaderReplayedID: "orig-1"}, kafkaAt, "orig-1"},
		{"kafka without position", "kafka", nil, stream.Received{Destination: "javaorders"}, ""},
		{"nats", "nats", nil, stream.Received{Destination: "orders", Offset: 9, HasOffset: true}, "nats:orders:9"},
		// The stream sequence numbers the partition subjects too: a
		// partitioned consumer's key is the unpartitioned one's.
		{"nats partitioned", "nats", nil, stream.Received{Destination: "orders", Partition: 1, HasPartition: true, Offset: 9, HasOffset: true}, "nats:orders:9"},
		{"nats core (no sequence)", "nats", nil, stream.Received{Destination: "orders"}, ""},
		// Entry IDs are per stream: the key names the stream read.
		{"redis", "redis", nil, stream.Received{Destination: "orders", Stream: "orders", EntryID: "1712345678901-0"}, "redis:orders:1712345678901-0"},
		{"redis partition stream, consumer not partitioned", "redis", nil, stream.Received{Destination: "orders", Stream: "orders:1", EntryID: "1712345678901-0"}, "redis:orders:1:1712345678901-0"},
		{"redis partitioned", "redis", nil, stream.Received{Destination: "orders", Partition: 0, HasPartition: true, Stream: "orders:0", EntryID: "1712345678901-3"}, "redis:orders:0:1712345678901-3"},
		{"redis without stream", "redis", nil, stream.Received{Destination: "orders", EntryID: "1712345678901-3"}, ""},
		{"rabbit without message_id", "rabbit", stream.Headers{"contentType": "text/plain"}, stream.Received{Destination: "orders", Queue: "orders.g", Exchange: "orders"}, ""},
		{"rabbit with message_id (the id header)", "rabbit", stream.Headers{"id": "mid-1"}, stream.Received{Destination: "orders", Queue: "orders.g"}, "mid-1"},
		// The in-process binder numbers its messages from 1 again in each
		// process: no identity (and it gives every message an id).
		{"memory", "memory", nil, stream.Received{Destination: "orders", Offset: 1, HasOffset: true}, ""},
		{"binder unknown", "", nil, kafkaAt, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := stream.CompileIdempotencyKeyFor(stream.IdempotencyConfig{Store: "memory"}, c.binder)
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Of(stream.Envelope{Headers: c.headers, Received: c.r})
			if c.want == "" {
				if !errors.Is(err, stream.ErrNoIdempotencyKey) || stream.IsPermanent(err) {
					t.Fatalf("key %q, %v; want ErrNoIdempotencyKey, not permanent", got, err)
				}
				if c.binder == "rabbit" && !strings.Contains(err.Error(), "message_id") {
					t.Errorf("the error does not say to set message_id: %v", err)
				}
				if !strings.Contains(err.Error(), "key-expression") {
					t.Errorf("the error does not name key-expression: %v", err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("key %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// TestExplicitIdempotencyKeyNullStaysPermanent: a key-expression of the
// user's own that yields null fails the message for good, naming the
// expression, as before: the user asked for that key. The default's own
// text set explicitly (as the docs show it) is the default.
func TestExplicitIdempotencyKeyNullStaysPermanent(t *testing.T) {
	r := stream.Received{Destination: "javaorders", Partition: 0, HasPartition: true, Offset: 3, HasOffset: true}
	k, err := stream.CompileIdempotencyKeyFor(stream.IdempotencyConfig{KeyExpression: "headers['id']"}, "kafka")
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.Of(stream.Envelope{Received: r})
	if !stream.IsPermanent(err) || errors.Is(err, stream.ErrNoIdempotencyKey) || !strings.Contains(err.Error(), `"headers['id']" yielded null`) {
		t.Fatalf("explicit headers['id']: %v; want a permanent error naming it", err)
	}
	// The default however written: other spacing, double quotes (which
	// the grammar accepts; only spaces were ignored before).
	for _, expr := range []string{stream.DefaultIdempotencyKeyExpression, "headers['x-streambind-replayed-id']  ?:  headers['id']",
		`headers["x-streambind-replayed-id"] ?: headers["id"]`, `headers[ 'x-streambind-replayed-id' ]?:headers[ "id" ]`} {
		k, err := stream.CompileIdempotencyKeyFor(stream.IdempotencyConfig{KeyExpression: expr}, "kafka")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := k.Of(stream.Envelope{Received: r}); err != nil || got != "kafka:javaorders:0:3" {
			t.Errorf("explicit %q: %q, %v; want the default's fallback", expr, got, err)
		}
	}
}

// TestReplayOfIdlessKafkaDeadLetterKeepsOriginalKey: the dead letter of
// a Kafka record without an id (a Java producer's) has no id to move to
// x-streambind-replayed-id; its replayed copies — each with an id and an
// offset of its own — name the original's delivery identity there (from
// x-original-topic, -partition and -offset, as the Kafka binder writes
// them: 4- and 8-byte integers), so that they and the original have one
// key under the default key-expression, as copies of a message with an
// id do. Before, each copy was keyed by its own new id: a replay run
// twice ran the message twice.
func TestReplayOfIdlessKafkaDeadLetterKeepsOriginalKey(t *testing.T) {
	dl := stream.Headers{
		"contentType":                  "application/json",
		stream.HeaderOriginalTopic:     "javaorders",
		stream.HeaderOriginalPartition: string([]byte{0, 0, 0, 2}),
		stream.HeaderOriginalOffset:    string([]byte{0, 0, 0, 0, 0, 0, 0, 41}),
		stream.HeaderExceptionMessage:  "boom",
	}
	k, err := stream.CompileIdempotencyKeyFor(stream.IdempotencyConfig{}, "kafka")
	if err != nil {
		t.Fatal(err)
	}
	orig, err := k.Of(stream.Envelope{Received: stream.Received{Destination: "javaorders", Partition: 2, HasPartition: true, Offset: 41, HasOffset: true}})
	if err != nil {
		t.Fatal(err)
	}
	copyHeaders := stream.ReplayHeaders(dl)
	copyHeaders[stream.HeaderID] = "copy-1" // the replay's producer gives it one
	got, err := k.Of(stream.Envelope{Headers: copyHeaders, Received: stream.Received{Destination: "javaorders", Partition: 0, HasPartition: true, Offset: 99, HasOffset: true}})
	if err != nil || got != orig {
		t.Fatalf("the copy's key %q, %v; want the original's %q", got, err, orig)
	}
	// The copy's own dead letter, replayed again, names the original still.
	again := stream.ReplayHeaders(copyHeaders)
	if again[stream.HeaderReplayedID] != orig {
		t.Fatalf("a copy of the copy names %q; want %q", again[stream.HeaderReplayedID], orig)
	}
	// A dead letter with an id moves the id, as before.
	dl[stream.HeaderID] = "m-1"
	if r := stream.ReplayHeaders(dl)[stream.HeaderReplayedID]; r != "m-1" {
		t.Fatalf("replayed id %q; want m-1", r)
	}
}
