//go:build ownconnfault

// Fault tests that disrupt RabbitMQ connections — only their own: each works
// in a virtual host of its own and closes only that virtual host's
// connections (rabbitmqctl close_connection by pid), so other clients of the
// broker are not disturbed. They run with -tags ownconnfault (make test
// builds the whole suite with the tag; make test-own-conn-faults runs them
// alone). Faults that affect the whole
// broker are in broker_fault_test.go.
package rabbit

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestFaultCloseOwnConnections: the broker closes the binder's connections
// (CONNECTION_FORCED) four times while producers send; every confirmed
// message arrives.
func TestFaultCloseOwnConnections(t *testing.T) {
	t.Parallel() // its own vhost and connections
	vhost := rabbittest.VHost(t)
	faultRun(t, map[string]any{"virtual-host": vhost}, 10000, true, func(t *testing.T, b *Binder, _ stream.Producer) {
		for range 4 {
			gen := b.pubMgr.generation()
			if n := rabbittest.CloseConnections(t, vhost, ""); n == 0 {
				t.Fatal("no connection of the test's vhost to close")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			for b.pubMgr.generation() == gen { // wait for the reconnection
				if _, _, err := b.pubMgr.get(ctx); err != nil {
					t.Fatal(err)
				}
				if b.pubMgr.generation() == gen {
					time.Sleep(10 * time.Millisecond) // the old connection is not seen closed yet
				}
			}
			cancel()
			time.Sleep(200 * time.Millisecond) // let traffic flow between closures (pacing, not synchronisation)
		}
	})
}
