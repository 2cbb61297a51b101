package topology_test

import (
	"reflect"
	"testing"

	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/topology"
)

// TestRabbitPrefixNotText: a YAML prefix the loader reads as a number
// (prefix: 1, prefix: 2024.) the binder takes as its text
// (props.String: exchange 1orders); the topology read any value that was
// not a string as no prefix, so graph and lint named the exchange
// orders, one nothing uses.
func TestRabbitPrefixNotText(t *testing.T) {
	in := topology.BindingSpec{Name: "bill-in-0", Function: "bill", Input: true, Configured: true, Destinations: []string{"orders"}, Group: "billing",
		BinderName: "rabbit", BinderType: "rabbit", Consumer: stream.ConsumerConfig{DLQ: true}, Extension: map[string]any{"prefix": 1}}
	if got := topology.RabbitQueues(&in); !reflect.DeepEqual(got, []string{"1orders.billing"}) {
		t.Errorf("queues %v, want [1orders.billing]", got)
	}
	if got := topology.DeadLetters(&in); !reflect.DeepEqual(got, []string{"1orders.billing.dlq"}) {
		t.Errorf("dead letters %v, want [1orders.billing.dlq]", got)
	}
	m := topology.Build([]topology.ServiceSpec{{Name: "s", Bindings: []topology.BindingSpec{in}}})
	if len(m.Destinations) == 0 || m.Destinations[0].Name != "1orders" {
		t.Errorf("destinations %+v, want 1orders first", m.Destinations)
	}
}
