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
	"sync"
	"sync/atomic"
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

// faultRun sends n messages from 4 goroutines (a failed Send is retried,
// as an application would) to a consumer group, calls disrupt once a
// quarter was sent, and checks that every confirmed id arrived.
func faultRun(t *testing.T, n int, disrupt func(t *testing.T, b *Binder, p stream.Producer)) {
	b, tr := newTestBinder(t, nil)
	dest := uniqueDest(t, "fault")
	got := newIDSet()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := tr.BindConsumer(ctx, stream.ConsumerSpec{Binding: "f-in-0", Destination: dest, Group: "g", ContentType: "application/json",
		Consumer: stream.ConsumerConfig{Concurrency: 4},
		Handler:  func(_ context.Context, m stream.Envelope) error { got.add(m.Headers["x-id"]); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "f-out-0", Destination: dest, ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	const senders = 4
	var (
		mu      sync.Mutex
		sent    []string
		retries atomic.Int64
		wg      sync.WaitGroup
		quarter = make(chan struct{})
		once    sync.Once
	)
	for g := range senders {
		wg.Go(func() {
			for i := range n / senders {
				id := strconv.Itoa(g) + "-" + strconv.Itoa(i)
				for {
					sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
					err := p.Send(sctx, stream.Envelope{Payload: []byte(`{"id":"` + id + `"}`), Headers: stream.Headers{"x-id": id}})
					scancel()
					if err == nil {
						break
					}
					if ctx.Err() != nil {
						t.Errorf("send %s: %v", id, err)
						return
					}
					retries.Add(1)
				}
				mu.Lock()
				sent = append(sent, id)
				if len(sent) == n/4 {
					once.Do(func() { close(quarter) })
				}
				mu.Unlock()
			}
		})
	}
	<-quarter
	disrupt(t, b, p)
	wg.Wait()
	lost, dups := got.waitAll(t, sent, 60*time.Second)
	t.Logf("sent %d (%d sends retried), received all but %d, duplicates %d", len(sent), retries.Load(), lost, dups)
	if lost != 0 {
		t.Fatalf("%d confirmed messages lost", lost)
	}
}

func TestFaultCloseAllConnections(t *testing.T) {
	faultRun(t, 20000, func(t *testing.T, b *Binder, _ stream.Producer) {
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
	faultRun(t, 5000, func(t *testing.T, b *Binder, _ stream.Producer) {
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
	faultRun(t, 3000, func(t *testing.T, b *Binder, p stream.Producer) {
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
