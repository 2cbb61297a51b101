package stream

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Component is a part of the application that runs with an [App]: an
// outbox relay, a scheduler. Join it with [App.AddComponent] before
// [App.Run].
//
// Start is called once every binding is bound and started, before
// [App.Ready] closes; it must not block for long (start a goroutine) and an
// error from it ends start-up as a bind error does. The [Bridge] accepts
// sends only once Ready is closed, so a component that sends waits for
// Ready first. Stop is called when shutdown begins, before the app stops
// accepting sends and before any binding stops, so that what a component
// has in flight can still be confirmed; it is bounded by ctx, which ends at
// the shutdown deadline (one for the whole shutdown: what Stop takes of it,
// the bindings' draining does not get). Components start in the order they were added and stop in
// reverse order. A component whose Start failed, or that never started, is
// not stopped. A component that holds what the handlers use also
// implements [ComponentCloser].
//
// A component that also implements [HealthChecker] is reported by
// [App.Health] beside the binders (Type "component"), so readiness is down
// while it reports an error.
type Component interface {
	// Name identifies the component in health reports and logs.
	Name() string
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

// ComponentCloser is a [Component] holding something the bindings'
// handlers use while they drain — the idempotent consumer's database pool:
// closing it in Stop, before the bindings stop, would fail the messages
// still in flight, or wait for them while they wait for shutdown. Close is
// called once the bindings have stopped (every handler returned, or had
// its context cancelled when the time was up) and the binders are closed,
// in reverse order of addition, for every component added — started or
// not, since what it holds was made when it was built. ctx ends at the
// shutdown deadline, possibly already passed: Close must release what it
// holds without waiting past it (leave what cannot end yet to end by
// itself) and then return.
type ComponentCloser interface {
	Component
	Close(ctx context.Context) error
}

// AddComponent joins c to the app's lifecycle. It fails once the app runs,
// and for a second component of the same name.
func (a *App) AddComponent(c Component) error {
	if c == nil {
		return errors.New("stream: AddComponent(nil)")
	}
	if a.running.Load() {
		return fmt.Errorf("stream: add component %s: the app already runs", c.Name())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, x := range a.components {
		if x.c.Name() == c.Name() {
			return fmt.Errorf("stream: add component %s: a component of that name was already added", c.Name())
		}
	}
	a.components = append(a.components, &componentState{c: c})
	return nil
}

type componentState struct {
	c       Component
	started bool
}

// startComponents starts the components in order; the first error ends it.
func (a *App) startComponents(ctx context.Context) error {
	a.mu.Lock()
	cs := append([]*componentState(nil), a.components...)
	a.mu.Unlock()
	for _, cs := range cs {
		if err := cs.c.Start(ctx); err != nil {
			return fmt.Errorf("start component %s: %w", cs.c.Name(), err)
		}
		cs.started = true
	}
	return nil
}

// stopComponents stops the started components in reverse order, until the
// shutdown deadline.
func (a *App) stopComponents(deadline time.Time) error {
	a.mu.Lock()
	cs := append([]*componentState(nil), a.components...)
	a.mu.Unlock()
	if len(cs) == 0 {
		return nil
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if !cs[i].started {
			continue
		}
		if err := cs[i].c.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("component %s: stop: %w", cs[i].c.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// closeComponents closes the components that implement ComponentCloser,
// in reverse order, once the bindings stopped (see ComponentCloser).
func (a *App) closeComponents(deadline time.Time) error {
	a.mu.Lock()
	cs := append([]*componentState(nil), a.components...)
	a.mu.Unlock()
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		cc, ok := cs[i].c.(ComponentCloser)
		if !ok {
			continue
		}
		if err := cc.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("component %s: close: %w", cs[i].c.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// componentHealth reports the components that implement HealthChecker,
// sorted by name.
func (a *App) componentHealth(ctx context.Context) []BinderHealth {
	a.mu.Lock()
	cs := append([]*componentState(nil), a.components...)
	a.mu.Unlock()
	var out []BinderHealth
	for _, cs := range cs {
		hc, ok := cs.c.(HealthChecker)
		if !ok {
			continue
		}
		h := BinderHealth{Name: cs.c.Name(), Type: "component", Up: true}
		if err := hc.Health(ctx); err != nil {
			h.Up, h.Error = false, err.Error()
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
