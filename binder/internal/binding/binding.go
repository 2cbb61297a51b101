// Package binding holds what the nats and redis binders of this module do
// alike when they bind and close bindings:
//
//   - [Destinations] splits a consumer binding's comma-separated
//     destination list, and [CheckConsumer] checks a consumer spec against
//     what every such binder requires;
//   - [Error] wraps a bind error and keeps it marked unavailable
//     ([stream.ErrUnavailable]) when the broker could not be reached;
//   - [Group] is the consumer binding of a destination list: one consumer
//     a destination, driven together;
//   - [Registry] keeps a binder's open bindings (refusing new ones after
//     Close), and [CloseAll] closes a binder's consumers at once and then
//     its producers, in Close.
//
// It is internal to the binders of this module.
package binding

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/streambind/streambind/stream"
)

// Destinations returns the destinations of a comma-separated list, white
// space trimmed and empty entries left out, each one checked with check
// (the binder's name rules). The first destination check refuses ends it
// with check's error. An empty result is not an error here; see
// [CheckConsumer].
func Destinations(list string, check func(string) error) ([]string, error) {
	var dests []string
	for _, d := range strings.Split(list, ",") {
		if d = strings.TrimSpace(d); d != "" {
			if err := check(d); err != nil {
				return nil, err
			}
			dests = append(dests, d)
		}
	}
	return dests, nil
}

// CheckConsumer reports the first of these that holds for a consumer
// binding with destinations dests, or nil: no destination; batch mode
// without a batch handler; no handler (not batch mode); a partitioned
// consumer whose instance-index is negative or not below instance-count
// (an instance-count below 1 counts as 1).
func CheckConsumer(spec stream.ConsumerSpec, dests []string) error {
	cc := spec.Consumer
	switch {
	case len(dests) == 0:
		return errors.New("no destination")
	case cc.BatchMode && spec.BatchHandler == nil:
		return errors.New("batch mode without a batch handler")
	case !cc.BatchMode && spec.Handler == nil:
		return errors.New("no handler")
	case cc.Partitioned && (cc.InstanceIndex < 0 || cc.InstanceIndex >= max(cc.InstanceCount, 1)):
		return fmt.Errorf("instance-index %d is not below instance-count %d", cc.InstanceIndex, max(cc.InstanceCount, 1))
	}
	return nil
}

// Error returns wrapped (err with the binder's context, its secrets
// redacted), marked with [stream.Unavailable] when err is
// [stream.ErrUnavailable]: the broker could not be reached, and the
// application may retry the bind later.
func Error(err, wrapped error) error {
	if errors.Is(err, stream.ErrUnavailable) {
		return stream.Unavailable(wrapped)
	}
	return wrapped
}

// Consumer is what a binder's consumer binding of one destination offers.
type Consumer interface {
	stream.Consumer
	stream.BindingHealthChecker
	stream.DeadLetterReporter
}

// Group is the consumer binding of several destinations: each method
// calls that of every member in order and joins their errors (a member's
// failure does not keep the others from being called); DeadLetterStats
// adds the members' counts.
type Group[C Consumer] []C

var (
	_ stream.Consumer             = Group[Consumer](nil)
	_ stream.BindingHealthChecker = Group[Consumer](nil)
	_ stream.DeadLetterReporter   = Group[Consumer](nil)
)

func (g Group[C]) each(f func(C) error) error {
	var errs []error
	for _, c := range g {
		if err := f(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Start starts every member.
func (g Group[C]) Start(ctx context.Context) error {
	return g.each(func(c C) error { return c.Start(ctx) })
}

// Stop stops every member.
func (g Group[C]) Stop(ctx context.Context) error {
	return g.each(func(c C) error { return c.Stop(ctx) })
}

// Pause pauses every member.
func (g Group[C]) Pause(ctx context.Context) error {
	return g.each(func(c C) error { return c.Pause(ctx) })
}

// Resume resumes every member.
func (g Group[C]) Resume(ctx context.Context) error {
	return g.each(func(c C) error { return c.Resume(ctx) })
}

// Health joins the members' health errors: nil while every member can
// consume.
func (g Group[C]) Health(ctx context.Context) error {
	return g.each(func(c C) error { return c.Health(ctx) })
}

// DeadLetterStats adds the members' dead-letter counts.
func (g Group[C]) DeadLetterStats() stream.DeadLetterStats {
	var s stream.DeadLetterStats
	for _, c := range g {
		x := c.DeadLetterStats()
		s.Truncated += x.Truncated
		s.HeadersOnly += x.HeadersOnly
		s.Dropped += x.Dropped
	}
	return s
}

// CloseAll closes every consumer (all at once, each with closeConsumer),
// then, once they have all returned, every producer in order (with
// closeProducer), each bounded by ctx, and returns their errors: the
// consumers' (in no set order) before the producers'. The close functions
// take the binding first, so that method expressions such as
// (*consumer).close fit.
func CloseAll[C, P any](ctx context.Context, consumers []C, closeConsumer func(C, context.Context) error, producers []P, closeProducer func(P, context.Context) error) []error {
	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, c := range consumers {
		wg.Go(func() {
			if err := closeConsumer(c, ctx); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, p := range producers {
		if err := closeProducer(p, ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
