//go:build ownconnfault

package rabbit

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestFaultPipelineCloseOwnConnections: the broker closes the App's
// connections (CONNECTION_FORCED; rabbitmqctl close_connection, only the
// connections of the test's own virtual host named streambind-publisher,
// streambind-consumer, then both — never the test's own reader) while a
// pipelined function works; see pipelineFault. rabbitmqctl takes about a
// second for each closing (more under load), so while it runs the function
// is paced (about 2ms a call) for the App to still be working when the
// connections close; between the closings it runs at full speed (paced
// throughout, 16,000 calls took 20-90s). 8,000 inputs at 2ms leave the
// closings the margin that 16,000 at 1ms did: a closing of 3s takes
// about 1,500 calls of the 8,000 (3,000 of 16,000 before).
func TestFaultPipelineCloseOwnConnections(t *testing.T) {
	t.Parallel() // its own vhost and connections
	var closing atomic.Bool
	paced := func(b []byte) ([]byte, error) {
		if closing.Load() {
			time.Sleep(2 * time.Millisecond) // pacing, not synchronisation
		}
		return outFn(b)
	}
	pipelineFault(t, 8000, paced, func(p *pipeApp, i int) int {
		closing.Store(true)
		defer closing.Store(false)
		return rabbittest.CloseConnections(t, p.vh, []string{"streambind-publisher", "streambind-consumer", "streambind"}[i])
	})
}
