package kafka_test

// A consumer's Stop is bounded by its context even while a dead letter's
// write is stuck on the broker (found by the "breaker" review).

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestBreakStopBoundedWhileDeadLetterStuck: the dead-letter topic's
// broker stops answering while a lane dead-letters; Stop with a 200ms
// context must return within about that (plus the group's close bound),
// not wait for the dead-letter writer's in-flight write.
func TestBreakStopBoundedWhileDeadLetterStuck(t *testing.T) {
	t.Parallel()
	for _, keyed := range []bool{false, true} {
		t.Run(map[bool]string{false: "ordering partition", true: "ordering key"}[keyed], func(t *testing.T) {
			t.Parallel()
			const n = 20
			c := kafkatest.Start(t)
			topic := uniqueTopic(t)
			createTopic(t, c, topic, 1, nil)
			dlq := stream.DLQName(topic, "g")
			createTopic(t, c, dlq, 1, nil)
			fillKeyed(t, c, topic, n, 5)
			release := make(chan struct{})
			var stuck atomic.Int64
			kf := c.Kfake
			kf.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
				kf.KeepControl()
				for _, rt := range kr.(*kmsg.ProduceRequest).Topics {
					if rt.Topic == dlq {
						stuck.Add(1)
						// Not once released: after a held request's
						// connection drained its queue, another sleep on
						// it can meet a data race inside kfake (two
						// (*bsleep).waitQueue goroutines; see
						// advSlowProduce). Until then, one request per
						// connection sleeps and the others wait behind it.
						select {
						case <-release:
						default:
							kf.SleepControl(func() { <-release })
						}
						break
					}
				}
				return nil, nil, false
			})
			defer close(release)
			b := newKeyOrderBinder(t, c, testLogger(t))
			spec := consumerSpec(topic, "g", func(context.Context, stream.Envelope) error { return errors.New("always") })
			if keyed {
				spec = keyedSpec(topic, "g", 4, spec.Handler)
			}
			spec.Consumer.DLQ = true
			ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
			defer cancel()
			cons, err := b.BindConsumer(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := cons.Start(ctx); err != nil {
				t.Fatal(err)
			}
			for stuck.Load() == 0 {
				time.Sleep(5 * time.Millisecond)
			}
			sctx, scancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer scancel()
			start := time.Now()
			err = cons.Stop(sctx)
			took := time.Since(start)
			t.Logf("Stop returned in %s: %v", took.Round(time.Millisecond), err)
			if took > 2*time.Second {
				t.Errorf("Stop with a 200ms context took %s (a dead letter's write was stuck)", took.Round(time.Millisecond))
			}
			if o := committedOf(t, c, "g", topic); o > 0 {
				t.Errorf("committed %d although no dead letter was written", o)
			}
		})
	}
}
