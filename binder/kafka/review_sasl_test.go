package kafka_test

import (
	"context"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestReviewEmptySASLMapIsNoSASL: an empty sasl section is no SASL in
// both its YAML forms ("sasl:" with its keys commented out, and "sasl:
// {}"), as an empty tls section is no TLS in both; "sasl: {}" was refused
// with "sasl.username: required with sasl".
func TestReviewEmptySASLMapIsNoSASL(t *testing.T) {
	for name, v := range map[string]any{"sasl:": nil, "sasl: {}": map[string]any{}} {
		if _, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
			Binder: map[string]any{"brokers": "127.0.0.1:19092", "sasl": v}}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A section with a setting is still SASL (and checked).
	if _, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
		Binder: map[string]any{"brokers": "127.0.0.1:19092", "sasl": map[string]any{"mechanism": "PLAIN"}}}); err == nil {
		t.Error("sasl with a mechanism and no username: accepted")
	}
}
