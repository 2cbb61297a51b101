package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestSettingsBrokerAddresses: a broker address no dial can use is a
// configuration error at the key, not an outage retried for ever; a bare
// host takes default-broker-port; user info is never echoed.
func TestSettingsBrokerAddresses(t *testing.T) {
	for _, tc := range []struct {
		brokers any
		want    string
	}{
		{"host:notaport", `port "notaport" is not a number in 1..65535`},
		{"host:99999", `port "99999"`},
		{"host:0", `port "0"`},
		{[]any{"h1:9092", "h2:x"}, `"h2:x"`},
		{"h1:9092,bad host:9092", `host "bad host" has ' '`},
		{"SASL_SSL://u:S3cr3tPw@host:9092", "no scheme or user info"},
		{"::1:9092:x", "want host:port"},
	} {
		_, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type,
			Binder: map[string]any{"brokers": tc.brokers}})
		if err == nil || !strings.Contains(err.Error(), "stream.kafka.binder.brokers") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one at stream.kafka.binder.brokers with %q", tc.brokers, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "S3cr3tPw") {
			t.Errorf("the password is shown: %v", err)
		}
	}
	for _, ok := range []any{"a,,b", "host", "[::1]:9093, h", "::1", "h_1.example.com:9092", []any{"h1", "h2:1"}} {
		b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type,
			Binder: map[string]any{"brokers": ok, "default-broker-port": 9093}})
		if err != nil {
			t.Errorf("%v: %v", ok, err)
			continue
		}
		_ = b.Close(context.Background())
	}
}

// TestValidateTopicNames: a destination Kafka would refuse as a topic
// name (characters, length over 249), or the dead-letter topic derived
// from it, is a configuration error at the binding's destination.
func TestValidateTopicNames(t *testing.T) {
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(context.Background()) }()
	sv := b.(stream.SpecValidator)
	for _, tc := range []struct{ dest, want string }{
		{"bad topic/name!", `has ' '`},
		{strings.Repeat("x", 250), "250 characters long"},
		{"..", "not a Kafka topic name"},
	} {
		err := sv.ValidateProducer(stream.ProducerSpec{Binding: "out", Destination: tc.dest})
		var ce *stream.ConfigError
		if !errors.As(err, &ce) || ce.Path != "stream.bindings.out.destination" || !strings.Contains(ce.Msg, tc.want) {
			t.Errorf("%.20q: %v", tc.dest, err)
		}
	}
	dest := strings.Repeat("x", 240) // error.<dest>.g is 248 characters; error.<dest>.group 252
	spec := stream.ConsumerSpec{Binding: "in", Destination: dest, Group: "g"}
	spec.Consumer.DLQ = true
	if err := sv.ValidateConsumer(spec); err != nil {
		t.Errorf("DLQ of 248 characters: %v", err)
	}
	spec.Group = "group"
	if err := sv.ValidateConsumer(spec); err == nil || !strings.Contains(err.Error(), "dead-letter topic of group group") {
		t.Errorf("DLQ of 252 characters: %v", err)
	}
}
