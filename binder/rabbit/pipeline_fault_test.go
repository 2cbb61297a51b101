//go:build ownconnfault

package rabbit

import (
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestFaultPipelineCloseOwnConnections: the broker closes the App's
// connections (CONNECTION_FORCED; rabbitmqctl close_connection, only the
// connections of the test's own virtual host named streambind-publisher,
// streambind-consumer, then both — never the test's own reader) while a
// pipelined function works; see pipelineFault. rabbitmqctl takes seconds
// for each closing, so the function is paced (about 1ms a call) for the
// App to still be working when the connections close.
func TestFaultPipelineCloseOwnConnections(t *testing.T) {
	paced := func(b []byte) ([]byte, error) {
		time.Sleep(time.Millisecond) // pacing, not synchronisation
		return outFn(b)
	}
	pipelineFault(t, 16000, paced, func(p *pipeApp, i int) int {
		return rabbittest.CloseConnections(t, p.vh, []string{"streambind-publisher", "streambind-consumer", "streambind"}[i])
	})
}
