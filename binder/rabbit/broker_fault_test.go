//go:build brokerfault

// Broker-wide fault tests: they stop the broker's application and raise a
// memory alarm, which disturbs every client of the broker. They run only
// with -tags brokerfault and STREAMBIND_BROKER_FAULTS=1
// (make test-broker-faults, which CI runs after make test), serially, and
// restore the broker when they end, pass or fail. Never run them on a
// broker others use.
package rabbit

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

func requireBrokerFaults(t *testing.T) {
	t.Helper()
	if os.Getenv("STREAMBIND_BROKER_FAULTS") != "1" {
		t.Skip("broker-wide fault test: set STREAMBIND_BROKER_FAULTS=1 (make test-broker-faults) on a broker no one else uses")
	}
	rabbittest.RequireCtl(t)
}

func TestBrokerFaultStopStartApp(t *testing.T) {
	requireBrokerFaults(t)
	t.Cleanup(func() { _ = exec.Command("rabbitmqctl", "start_app").Run() })
	faultRun(t, nil, 5000, true, func(t *testing.T, b *Binder, _ stream.Producer) {
		rabbittest.Ctl(t, "stop_app")
		time.Sleep(time.Second) // the broker stays down for a while
		rabbittest.Ctl(t, "start_app")
		rabbittest.Ctl(t, "await_startup")
	})
}

var watermarkRE = regexp.MustCompile(`\{vm_memory_high_watermark,([^}]+)\}`)

// TestBrokerFaultMemoryAlarm: with the memory alarm on, Sends wait (and
// fail when their ctx ends, never hang); after it is cleared they go
// through.
func TestBrokerFaultMemoryAlarm(t *testing.T) {
	requireBrokerFaults(t)
	m := watermarkRE.FindStringSubmatch(rabbittest.Ctl(t, "environment"))
	if m == nil {
		t.Fatal("cannot read vm_memory_high_watermark")
	}
	orig := strings.TrimSpace(m[1])
	restore := func() { _ = exec.Command("rabbitmqctl", "set_vm_memory_high_watermark", orig).Run() }
	if strings.HasPrefix(orig, "{absolute,") {
		abs := strings.TrimSuffix(strings.TrimPrefix(orig, "{absolute,"), "}")
		restore = func() { _ = exec.Command("rabbitmqctl", "set_vm_memory_high_watermark", "absolute", abs).Run() }
	}
	t.Cleanup(restore)
	faultRun(t, nil, 3000, true, func(t *testing.T, b *Binder, p stream.Producer) {
		rabbittest.Ctl(t, "set_vm_memory_high_watermark", "0.000001")
		// Wait for the broker to block the publisher connection.
		deadline := time.Now().Add(20 * time.Second)
		var blockedErr error
		for time.Now().Before(deadline) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			blockedErr = p.Send(ctx, stream.Envelope{Payload: []byte(`{}`), Headers: stream.Headers{"x-id": "probe"}})
			cancel()
			if blockedErr != nil {
				break
			}
		}
		if blockedErr == nil {
			t.Fatal("sends still succeed with the memory alarm on")
		}
		t.Logf("with the alarm on, a Send with a 300ms deadline returned: %v", blockedErr)
		restore()
	})
}
