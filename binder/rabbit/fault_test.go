//go:build rabbitfault

// Fault tests disrupt the shared broker (closing every connection,
// stopping the app, raising a memory alarm). They run only with
// -tags rabbitfault, serially (make test-rabbit-faults), and restore the
// broker when they end, pass or fail.
package rabbit

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

func ctl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestFaultCloseAllConnections(t *testing.T) {
	faultRun(t, 20000, true, func(t *testing.T, b *Binder, _ stream.Producer) {
		for i := range 4 {
			ctl(t, "close_all_connections", "streambind fault test "+strconv.Itoa(i))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if _, _, err := b.pubMgr.get(ctx); err != nil {
				t.Fatal(err)
			}
			cancel()
			time.Sleep(200 * time.Millisecond) // let traffic flow between closures (pacing, not synchronisation)
		}
	})
}

func TestFaultStopStartApp(t *testing.T) {
	t.Cleanup(func() { _ = exec.Command("rabbitmqctl", "start_app").Run() })
	faultRun(t, 5000, true, func(t *testing.T, b *Binder, _ stream.Producer) {
		ctl(t, "stop_app")
		time.Sleep(time.Second) // the broker stays down for a while
		ctl(t, "start_app")
		ctl(t, "await_startup")
	})
}

var watermarkRE = regexp.MustCompile(`\{vm_memory_high_watermark,([^}]+)\}`)

// TestFaultMemoryAlarm: with the memory alarm on, Sends wait (and fail
// when their ctx ends, never hang); after it is cleared they go through.
func TestFaultMemoryAlarm(t *testing.T) {
	m := watermarkRE.FindStringSubmatch(ctl(t, "environment"))
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
	faultRun(t, 3000, true, func(t *testing.T, b *Binder, p stream.Producer) {
		ctl(t, "set_vm_memory_high_watermark", "0.000001")
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
