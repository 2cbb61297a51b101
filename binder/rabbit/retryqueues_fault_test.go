//go:build ownconnfault

package rabbit_test

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestFaultRetryDelaysConnectionLoss: the broker closes the binder's
// connections (its own virtual host's only) while a failed message waits
// in its wait queue; it still comes back, is handled on its third attempt,
// and the poison message still reaches the DLQ.
func TestFaultRetryDelaysConnectionLoss(t *testing.T) {
	vhost := rabbittest.VHost(t)
	bindertest.RunRetryDelays(t, bindertest.RetryDelaysHarness{
		Type: rabbit.Type, Factory: rabbit.New, Destination: "orders",
		Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost},
		Interrupt: func(t *testing.T) {
			if n := rabbittest.CloseConnections(t, vhost, ""); n == 0 {
				t.Fatal("no connection of the test's vhost to close")
			}
		},
	})
}
