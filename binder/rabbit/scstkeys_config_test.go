package rabbit

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestSCStListenerKeys: SCSt's RabbitMQ consumer and producer keys that
// have no setting here are accepted at the value that asks for what the
// binder does anyway (SCSt's defaults, spelt as Spring binds enums), and
// refused otherwise with the reason, at their key; before, each was an
// "unknown key" listing the binder's own keys.
func TestSCStListenerKeys(t *testing.T) {
	if _, err := parseConsumerOptions("c-in-0", 1, map[string]any{
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

	_, err := parseConsumerOptions("c-in-0", 1, map[string]any{
		"acknowledge-mode": "MANUAL", "exclusive": true, "container-type": "stream",
	})
	for _, want := range []string{
		"consumer.acknowledge-mode: MANUAL is not supported: there is no manual acknowledgment",
		"consumer.exclusive: true is not supported",
		"consumer.container-type: STREAM is not supported",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	_, err = parseProducerOptions("p-out-0", map[string]any{"batchingEnabled": "maybe", "batch-timeout": 0})
	for _, want := range []string{
		"producer.batchingEnabled: ",
		"producer.batch-timeout: must be positive",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if _, err = parseConsumerOptions("c-in-0", 1, map[string]any{"acknowledge-mode": "sometimes"}); err == nil ||
		!strings.Contains(err.Error(), `want AUTO, MANUAL, NONE, got "sometimes"`) {
		t.Errorf("unknown acknowledge-mode: %v", err)
	}
}

// TestSCStContainerKeys: SCSt's remaining RabbitMQ binder, listener
// container and producer keys are accepted at SCSt's default (or, when
// they tune what is refused, at any value) and refused otherwise with the
// reason and what to set instead; exchange-durable, exchange-auto-delete,
// consumer-tag-prefix and connection-name-prefix are read. Before, each
// was an "unknown key" with no reason.
func TestSCStContainerKeys(t *testing.T) {
	c, err := parseConsumerOptions("c-in-0", 1, map[string]any{
		"missing-queues-fatal": false, "queue-declaration-retries": "3", "failed-declaration-retry-interval": 5000,
		"recovery-interval": "5s", "frame-max-headroom": 20000, "receive-timeout": 1000, "enable-batching": true,
		"republish-delivery-mode": "persistent", "super-stream": false, "delayed-exchange": false,
		"exchange-durable": false, "exchange-auto-delete": true, "consumer-tag-prefix": "app",
	})
	if err != nil {
		t.Fatalf("SCSt's defaults refused: %v", err)
	}
	if c.exchangeDurable || !c.exchangeAutoDelete || c.consumerTag("c-in-0") != "app#0" || c.consumerTag("c-in-0") != "app#1" {
		t.Errorf("exchange flags or consumer tags not read: %+v", c.queueOptions)
	}
	if d, err := parseConsumerOptions("c-in-0", 1, nil); err != nil || !d.exchangeDurable || d.exchangeAutoDelete ||
		!strings.HasPrefix(d.consumerTag("c-in-0"), "streambind-c-in-0-") {
		t.Errorf("defaults: %v %+v", err, d.queueOptions)
	}
	if _, err := parseProducerOptions("p-out-0", map[string]any{
		"batch-size": 10, "batch-buffer-limit": 100, "batch-timeout": "1s", "use-confirm-header": "no",
		"super-stream": false, "delayed-exchange": false, "exchange-durable": true,
	}); err != nil {
		t.Errorf("SCSt's defaults refused: %v", err)
	}

	_, err = parseConsumerOptions("c-in-0", 1, map[string]any{
		"missing-queues-fatal": true, "queue-declaration-retries": 5, "failed-declaration-retry-interval": "1s",
		"recovery-interval": 10000, "frame-max-headroom": 1000, "receive-timeout": "2h",
		"super-stream": true, "delayed-exchange": true, "alternate-exchange": map[string]any{"name": "ae"},
		"stream-stream-message-converter-bean-name": "conv",
	})
	for _, want := range []string{
		"consumer.missing-queues-fatal: true is not supported: a missing queue is never fatal: the binder declares its queue itself",
		"consumer.queue-declaration-retries: 5 is not supported (only SCSt's default, 3): ",
		"consumer.failed-declaration-retry-interval: 1s is not supported (only SCSt's default, 5s): ",
		"consumer.recovery-interval: 10s is not supported (only SCSt's default, 5s): ",
		"reconnect-initial-interval",
		"consumer.frame-max-headroom: 1000 is not supported (only SCSt's default, 20000)",
		"consumer.receive-timeout: must be at most 1h0m0s, got 2h0m0s",
		"consumer.super-stream: true is not supported: RabbitMQ streams",
		"consumer.delayed-exchange: true is not supported: delayed-message exchanges need RabbitMQ's delayed-message-exchange plugin",
		"consumer.alternate-exchange: alternate exchanges are not supported",
		"consumer.stream-stream-message-converter-bean-name: not supported",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	_, err = parseProducerOptions("p-out-0", map[string]any{
		"delay-expression": "headers['delay']", "confirm-ack-channel": "acks", "use-confirm-header": true,
		"batch-size": 0, "alternateExchange": map[string]any{"name": "ae"},
		"alternate-exchange-type": "topic", // an environment variable's form of alternate-exchange.type
	})
	for _, want := range []string{
		"producer.delay-expression: not supported: delayed-message exchanges",
		"producer.confirm-ack-channel: not supported: Send returns once the broker confirmed",
		"producer.use-confirm-header: true is not supported",
		"producer.batch-size: ",
		"producer.alternateExchange: alternate exchanges are not supported",
		"producer.alternate-exchange-type: alternate exchanges are not supported",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if _, err := parseConsumerOptions("c-in-0", 1, map[string]any{"consumer-tag-prefix": strings.Repeat("x", 250)}); err == nil ||
		!strings.Contains(err.Error(), "consumer-tag-prefix: is 250 bytes long") {
		t.Errorf("a consumer tag prefix too long for AMQP: %v", err)
	}

	bs := func(env map[string]any) stream.BinderSettings {
		return stream.BinderSettings{Name: "r", Type: Type, Environment: env}
	}
	s, err := parseSettings(bs(map[string]any{"admin-addresses": "", "nodes": []any{}, "compression-level": 6, "connection-name-prefix": "app"}))
	if err != nil {
		t.Fatalf("SCSt's binder defaults refused: %v", err)
	}
	if got := []string{s.connectionNameFor("publisher"), s.connectionNameFor("consumer")}; got[0] != "app#0" || got[1] != "app#1" {
		t.Errorf("connection names %q, want app#0, app#1", got)
	}
	if d, _ := parseSettings(bs(nil)); d.connectionNameFor("publisher") != "streambind-publisher" {
		t.Errorf("default connection name %q", d.connectionNameFor("publisher"))
	}
	_, err = parseSettings(bs(map[string]any{"admin-addresses": "http://a:15672", "nodes": "rabbit@a", "compression-level": 10,
		"connection-name": "x", "connectionNamePrefix": "y"}))
	for _, want := range []string{
		"admin-addresses: queue affinity (LocalizedQueueConnectionFactory) is not supported",
		"nodes: queue affinity",
		"compression-level: want -1 to 9",
		"set connection-name or connection-name-prefix (SCSt's), not both",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
}
