package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// A run that was paused while a handler ignored its context, then
// stopped, ends once that handler returns (paused workers see the Stop;
// the call stays counted in flight until it returns): a Start before that
// waits (bounded by its ctx) and a Start after it starts, and the next
// message is handled. Plain and ordering: key. The Start's error names
// the handler it waits for.
func TestReviewPausedStuckRunEndsWhenHandlerReturns(t *testing.T) {
	t.Parallel()
	for _, keyed := range []bool{false, true} {
		name := "plain"
		if keyed {
			name = "keyed"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.Start(t)
			topic := uniqueTopic(t)
			createTopic(t, c, topic, 1, nil)
			writeToPart(t, c, topic, 0, "stuck")
			in, release := make(chan string, 8), make(chan struct{})
			h := func(_ context.Context, m stream.Envelope) error {
				in <- string(m.Payload)
				if string(m.Payload) == "stuck" {
					<-release // ignores its context
				}
				return nil
			}
			spec := consumerSpec(topic, "g", h)
			if keyed {
				spec = keyedSpec(topic, "g", 2, h)
			}
			b := newKeyOrderBinder(t, c, testLogger(t))
			cons, err := b.BindConsumer(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), keyOrderTimeout)
			defer cancel()
			if err := cons.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if got := <-in; got != "stuck" {
				t.Fatalf("first message %q", got)
			}
			short := func() context.Context {
				sctx, scancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				t.Cleanup(scancel)
				return sctx
			}
			if err := cons.Pause(short()); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Pause beside a stuck handler: %v", err)
			}
			if err := cons.Stop(short()); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Stop beside a stuck handler: %v", err)
			}
			// What the Start waits for (run.Done) is the handler call; the
			// run's commits and leaving the group are not waited for, and
			// the error must not send the operator looking at them.
			if err := cons.Start(short()); !errors.Is(err, context.DeadlineExceeded) ||
				!strings.Contains(err.Error(), "handler") || strings.Contains(err.Error(), "commits") || strings.Contains(err.Error(), "leaving the group") {
				t.Fatalf("Start while the stuck handler runs: %v", err)
			}
			close(release)
			if err := cons.Start(ctx); err != nil {
				t.Fatalf("Start once the handler returned: %v", err)
			}
			writeToPart(t, c, topic, 0, "next")
			for {
				select {
				case got := <-in:
					if got == "next" {
						if err := cons.Stop(ctx); err != nil {
							t.Fatal(err)
						}
						return
					}
				case <-ctx.Done():
					t.Fatal("next not handled after the restart")
				}
			}
		})
	}
}
