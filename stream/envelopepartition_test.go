package stream_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestBridgeEnvelopePartitionKeyExpression: an Envelope without a Key
// sent through the bridge to a partitioned binding is partitioned by the
// expression over its Payload bytes, read as a []byte payload is (JSON
// decoded), not over the Go wrapper (stream.Envelope has no field "id"),
// by Send and Encode alike, in the simple form and the SpEL subset; a
// payload that is not JSON fails for good with an error that says what the
// expression saw (raw bytes of the content type) and what to do instead.
// A KeyExtractor gets the Payload bytes too, as it gets a Message's
// Payload.
func TestBridgeEnvelopePartitionKeyExpression(t *testing.T) {
	broker := newBroker(t)
	simple, spel, extracted := tap(t, broker, "simple"), tap(t, broker, "spel"), tap(t, broker, "extracted")
	var seen []string
	extract := func(payload any, _ stream.Headers) (any, error) {
		b, ok := payload.([]byte)
		if !ok {
			seen = append(seen, "not bytes")
			return nil, errors.New("payload is not []byte")
		}
		seen = append(seen, string(b))
		return "c-7", nil
	}
	cfg := &stream.Config{
		OutputBindings: "simple-out;spel-out;extracted-out",
		Bindings: map[string]stream.BindingConfig{
			"simple-out":    {Destination: "simple", Producer: stream.ProducerConfig{PartitionCount: 4, PartitionKeyExpression: "payload.id"}},
			"spel-out":      {Destination: "spel", Producer: stream.ProducerConfig{PartitionCount: 4, PartitionKeyExpression: "payload['id']"}},
			"extracted-out": {Destination: "extracted", Producer: stream.ProducerConfig{PartitionCount: 4, PartitionKeyExtractorName: "x"}},
		},
	}
	app, err := stream.NewApp(cfg, stream.NewCatalog(), stream.WithBinderType(memory.Type, memory.Factory(broker)), stream.WithoutSignals(), stream.WithLogger(discardLogger()),
		stream.WithKeyExtractor("x", extract))
	if err != nil {
		t.Fatal(err)
	}
	r := runApp(t, app)
	br := r.app.Bridge()
	ctx := context.Background()
	want := strconv.Itoa(stream.SelectPartition(stream.PartitionHash("c-7"), 4))
	env := stream.Envelope{Payload: []byte(`{"id":"c-7"}`), Headers: stream.Headers{"h": "v"}}
	for name, ch := range map[string]<-chan stream.Envelope{"simple-out": simple, "spel-out": spel, "extracted-out": extracted} {
		if err := br.Send(ctx, name, env); err != nil {
			t.Fatalf("%s: send: %v", name, err)
		}
		if m := recv(t, ch); m.Headers[stream.HeaderPartition] != want || len(m.Key) != 0 || m.Headers["h"] != "v" {
			t.Errorf("%s: partition %q key %q headers %v; want partition %s (c-7's), no key, the headers", name, m.Headers[stream.HeaderPartition], m.Key, m.Headers, want)
		}
		enc, err := br.Encode(name, env)
		if err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		if enc.Headers[stream.HeaderPartition] != want {
			t.Errorf("%s: Encode's partition %q, want %s", name, enc.Headers[stream.HeaderPartition], want)
		}
		// A []byte send of the same bytes goes to the same partition.
		if err := br.Send(ctx, name, []byte(`{"id":"c-7"}`)); err != nil {
			t.Fatalf("%s: send bytes: %v", name, err)
		}
		if m := recv(t, ch); m.Headers[stream.HeaderPartition] != want {
			t.Errorf("%s: []byte send on partition %q, want %s", name, m.Headers[stream.HeaderPartition], want)
		}
	}
	for _, s := range seen {
		if s != `{"id":"c-7"}` {
			t.Errorf("the extractor saw %q, want the Envelope's Payload bytes", s)
		}
	}

	// Bytes that are not JSON: no field to read.
	raw := stream.Envelope{Payload: []byte("hello"), Headers: stream.Headers{stream.HeaderContentType: "text/plain"}}
	for _, name := range []string{"simple-out", "spel-out"} {
		for _, how := range []string{"Send", "Encode"} {
			var err error
			if how == "Send" {
				err = br.Send(ctx, name, raw)
			} else {
				_, err = br.Encode(name, raw)
			}
			if err == nil {
				t.Fatalf("%s %s: no error for a payload that is not JSON", name, how)
			}
			msg := err.Error()
			t.Logf("%s %s: %s", name, how, msg)
			if !stream.IsPermanent(err) || strings.Contains(msg, "Envelope has no field") ||
				!strings.Contains(msg, "raw bytes") || !strings.Contains(msg, "content type text/plain") ||
				!strings.Contains(msg, `"id"`) || !strings.Contains(msg, "Key") || !strings.Contains(msg, "headers[") {
				t.Errorf("%s %s: error %q (permanent: %v); want a permanent one that says the payload is raw bytes of text/plain, not JSON, and what to do instead", name, how, msg, stream.IsPermanent(err))
			}
		}
	}
	// The binding's content type where the Envelope has none.
	if err := br.Send(ctx, "simple-out", stream.Envelope{Payload: []byte("hello")}); err == nil || !strings.Contains(err.Error(), "content type application/json") {
		t.Errorf("without a contentType header: error %v; want it to name the binding's content type", err)
	}
}
