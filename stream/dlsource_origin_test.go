package stream_test

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestDeadLetterSourceOfNamesWhereDLQIsOff: a binding whose consumer.dlq
// is false has no dead letters; the error said "set
// stream.bindings.X.consumer.dlq: true" also when the file set it true and
// an environment variable (which overrides the files) set it false. It
// names where the false comes from.
func TestDeadLetterSourceOfNamesWhereDLQIsOff(t *testing.T) {
	cases := []struct {
		origins map[string]string
		want    string
	}{
		{map[string]string{"stream.bindings.chargepayment-in-0.consumer.dlq": "env STREAM_BINDINGS_CHARGEPAYMENT_IN_0_CONSUMER_DLQ"},
			"does not dead-letter (stream.bindings.chargePayment-in-0.consumer.dlq is false, set by env STREAM_BINDINGS_CHARGEPAYMENT_IN_0_CONSUMER_DLQ, which overrides the files: set it to true, or unset it for the files' value)"},
		{map[string]string{"stream.bindings.chargepayment-in-0.consumer.dlq": "application.yaml:8"},
			"does not dead-letter (stream.bindings.chargePayment-in-0.consumer.dlq is false at application.yaml:8: set stream.bindings.chargePayment-in-0.consumer.dlq: true)"},
		{map[string]string{"stream.default.consumer.dlq": "env STREAM_DEFAULT_CONSUMER_DLQ"},
			"does not dead-letter (stream.default.consumer.dlq is false, set by env STREAM_DEFAULT_CONSUMER_DLQ, which overrides the files"},
		{nil, "does not dead-letter (set stream.bindings.chargePayment-in-0.consumer.dlq: true)"},
	}
	for _, c := range cases {
		cfg := &stream.Config{Bindings: map[string]stream.BindingConfig{"chargePayment-in-0": {Destination: "d", Group: "g"}}, Origins: c.origins}
		_, _, err := stream.DeadLetterSourceOf(cfg, nil, "rabbit", "chargePayment-in-0", "--binding chargePayment-in-0")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("origins %v: %v; want %q", c.origins, err, c.want)
		}
	}
}
