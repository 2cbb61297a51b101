package rabbit

import (
	"strings"
	"testing"
)

// TestSCStListenerKeys: SCSt's RabbitMQ consumer and producer keys that
// have no setting here are accepted at the value that asks for what the
// binder does anyway (SCSt's defaults, spelt as Spring binds enums), and
// refused otherwise with the reason, at their key; before, each was an
// "unknown key" listing the binder's own keys.
func TestSCStListenerKeys(t *testing.T) {
	if _, err := parseConsumerOptions("c-in-0", map[string]any{
		"durable-subscription": true, "acknowledgeMode": "auto", "transacted": "false", "exclusive": false,
		"container-type": "DIRECT", "header-patterns": "*", "anonymous-group-prefix": "anonymous.",
	}); err != nil {
		t.Errorf("SCSt's defaults refused: %v", err)
	}
	if _, err := parseProducerOptions("p-out-0", map[string]any{
		"delivery-mode": "PERSISTENT", "transacted": false, "batching-enabled": "no", "compress": false,
		"producer-type": "amqp", "header-patterns": []any{"*"},
	}); err != nil {
		t.Errorf("SCSt's defaults refused: %v", err)
	}

	_, err := parseConsumerOptions("c-in-0", map[string]any{
		"durable-subscription": false, "acknowledge-mode": "MANUAL", "exclusive": true, "container-type": "stream", "prefix": "dev-",
	})
	for _, want := range []string{
		"consumer.durable-subscription: false is not supported: a group's queue is always durable",
		"consumer.acknowledge-mode: MANUAL is not supported: there is no manual acknowledgment",
		"consumer.exclusive: true is not supported",
		"consumer.container-type: STREAM is not supported",
		"consumer.prefix: not supported",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	_, err = parseProducerOptions("p-out-0", map[string]any{"deliveryMode": "non-persistent", "batchingEnabled": true})
	for _, want := range []string{
		"producer.deliveryMode: NON_PERSISTENT is not supported: every message is published persistent",
		"producer.batchingEnabled: true is not supported",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if _, err = parseConsumerOptions("c-in-0", map[string]any{"acknowledge-mode": "sometimes"}); err == nil ||
		!strings.Contains(err.Error(), `want AUTO, MANUAL, NONE, got "sometimes"`) {
		t.Errorf("unknown acknowledge-mode: %v", err)
	}
}
