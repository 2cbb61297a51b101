package kafka_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/stream"
)

// TestMeasureIdleFetchCost measures what idle consumers cost, for
// docs/operations.md ("Sizing a Kafka consumer with many partitions"); it runs
// only with KAFKA_MEASURE=1:
//
//	KAFKA_MEASURE=1 MEASURE_RTT=160ms MEASURE_CONSUMERS=1 MEASURE_PARTS=5 \
//	  MEASURE_SECONDS=10 MEASURE_MAXWAIT=250ms go test -count=1 -run TestMeasureIdleFetchCost -v ./binder/kafka
//
// It reports, over an idle window, the connections the broker accepted,
// the Fetch and ListOffsets requests it got, the process's CPU time (the
// in-process broker's included), and then the time from sending one
// message per partition to receiving them all.
func TestMeasureIdleFetchCost(t *testing.T) {
	if os.Getenv("KAFKA_MEASURE") == "" {
		t.Skip("set KAFKA_MEASURE=1 to measure")
	}
	env := func(k string, def int) int {
		if n, err := strconv.Atoi(os.Getenv(k)); err == nil {
			return n
		}
		return def
	}
	rtt, _ := time.ParseDuration(os.Getenv("MEASURE_RTT"))
	consumers, parts := env("MEASURE_CONSUMERS", 1), env("MEASURE_PARTS", 5)
	window := time.Duration(env("MEASURE_SECONDS", 10)) * time.Second
	c, sl := startSlowCluster(t, rtt)
	var fetches, listOffsets atomic.Int64
	c.Kfake.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		fetches.Add(1)
		return nil, nil, false
	})
	c.Kfake.ControlKey(int16(kmsg.ListOffsets), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		listOffsets.Add(1)
		return nil, nil, false
	})
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	got := make(chan struct{}, consumers*parts*4)
	var prods []stream.Producer
	for i := range consumers {
		dest := fmt.Sprintf("%s-%d", uniqueTopic(t), i)
		prods = append(prods, bindProducer(t, b, dest, parts))
		spec := consumerSpec(dest, "g-"+dest, func(context.Context, stream.Envelope) error {
			got <- struct{}{}
			return nil
		})
		spec.Consumer.Concurrency = parts
		if mw := os.Getenv("MEASURE_MAXWAIT"); mw != "" {
			spec.Extension = map[string]any{"max-wait": mw}
		}
		startConsumer(t, b, spec)
	}
	// round sends one message per partition, all at once, and reports
	// how long it took until every one was received.
	round := func(r int) {
		start := time.Now()
		n := len(prods) * parts
		errs := make(chan error, n)
		for i, p := range prods {
			for part := range parts {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					id := fmt.Sprintf("r%d-%d-%d", r, i, part)
					errs <- p.Send(ctx, stream.Envelope{Payload: []byte(id), Headers: map[string]string{idHeader: id}})
				}()
			}
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		sent := time.Since(start)
		timeout := time.After(60 * time.Second)
		for range n {
			select {
			case <-got:
			case <-timeout:
				t.Fatalf("round %d: not all %d received in 60s", r, n)
			}
		}
		t.Logf("round %d: %d messages sent at once (confirmed in %s), all received in %s", r, n, sent.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
	round(0)
	time.Sleep(3 * time.Second) // settle: nothing to wait for
	conns0, f0, l0, cpu0, t0 := sl.accepted.Load(), fetches.Load(), listOffsets.Load(), cpuTime(), time.Now()
	time.Sleep(window) // the idle window measured
	el := time.Since(t0)
	conns, f, l, cpu := sl.accepted.Load()-conns0, fetches.Load()-f0, listOffsets.Load()-l0, cpuTime()-cpu0
	t.Logf("idle %s, rtt %s, %d consumers × %d partitions: %d connections accepted, %.0f Fetch/s, %.1f ListOffsets/s, CPU %.1f%% of a core",
		el.Round(time.Millisecond), rtt, consumers, parts, conns, float64(f)/el.Seconds(), float64(l)/el.Seconds(), 100*cpu.Seconds()/el.Seconds())
	round(1)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
