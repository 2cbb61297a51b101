// Package extest is the test scaffolding the examples share: it runs an
// example's run function (main without the process around it) in the
// test's process, collects what it writes, waits for a line in it, and
// gives the test a binder of its own on the same broker (in process, on an
// in-process Kafka cluster, or on the local RabbitMQ in a virtual host of
// the test's own) to feed the example and read what it sends.
//
// A typical test:
//
//	ctx, cancel := context.WithCancel(context.Background())
//	defer cancel()
//	broker, side := extest.InProcess(t, ctx)
//	r := extest.Start(t, ctx, func(ctx context.Context, stdout, stderr io.Writer) int {
//		return run(ctx, nil, []string{}, stdout, stderr, extest.WithBroker(broker))
//	})
//	r.WaitLog(t, "msg=ready")
//	extest.SendJSON(t, ctx, side, "orders", `{"id":"o-1"}`)
//	r.WaitOutput(t, "order o-1")
//	r.Stop(t) // cancels run's context; fails unless it exits 0
//
// Everything a helper opens is closed when the test ends (t.Cleanup). The
// package is internal: the examples' main.go files do not use it, so each
// stays whole and copyable on its own.
package extest

import (
	"context"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// DefaultTimeout is how long a Run waits for a line or a message before
// it fails the test, unless its Timeout says otherwise.
const DefaultTimeout = 20 * time.Second

// closeTimeout bounds the close of each binder or broker a helper opened.
const closeTimeout = 10 * time.Second

// Lines collects what a program writes (an io.Writer safe for concurrent
// use) and lets a test wait for a text in it.
type Lines struct {
	mu      sync.Mutex
	buf     strings.Builder
	changed chan struct{}
}

// NewLines returns an empty Lines.
func NewLines() *Lines { return &Lines{changed: make(chan struct{}, 1)} }

// Write appends p; it never fails.
func (l *Lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

// String is everything written so far.
func (l *Lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Run is one run of an example's run function in a goroutine of the test.
type Run struct {
	// Stdout and Stderr collect what run writes to each. An example
	// whose run has one writer (its logs) writes to Stderr.
	Stdout, Stderr *Lines
	// Timeout bounds each wait (WaitLog, WaitOutput, Receive); DefaultTimeout
	// unless the test sets it.
	Timeout time.Duration

	cancel context.CancelFunc
	exited chan struct{} // closed when run has returned
	code   int           // run's exit status, once exited is closed
}

// Start calls run in a goroutine with a context derived from ctx and two
// fresh Lines. The run is stopped (its context cancelled, and waited for)
// when the test ends if the test has not stopped it.
func Start(t testing.TB, ctx context.Context, run func(ctx context.Context, stdout, stderr io.Writer) int) *Run {
	t.Helper()
	rctx, cancel := context.WithCancel(ctx)
	r := &Run{Stdout: NewLines(), Stderr: NewLines(), Timeout: DefaultTimeout, cancel: cancel, exited: make(chan struct{})}
	go func() {
		defer close(r.exited)
		r.code = run(rctx, r.Stdout, r.Stderr)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.exited
	})
	return r
}

// WaitLog waits for text on Stderr; it fails the test if run ends first or
// after Timeout.
func (r *Run) WaitLog(t testing.TB, text string) {
	t.Helper()
	r.waitFor(t, r.Stderr, text)
}

// WaitOutput waits for text on Stdout; it fails the test if run ends first
// or after Timeout.
func (r *Run) WaitOutput(t testing.TB, text string) {
	t.Helper()
	r.waitFor(t, r.Stdout, text)
}

func (r *Run) waitFor(t testing.TB, l *Lines, text string) {
	t.Helper()
	deadline := time.After(r.Timeout)
	for !strings.Contains(l.String(), text) {
		select {
		case <-l.changed:
		case <-r.exited:
			if !strings.Contains(l.String(), text) {
				t.Fatalf("run ended (status %d) before writing %q:\n%s", r.code, text, l)
			}
		case <-deadline:
			t.Fatalf("no %q after %v:\n%s", text, r.Timeout, l)
		}
	}
}

// Receive returns the next envelope from ch (see Consume). It fails the
// test, showing Stderr, after Timeout; what names what was expected.
func (r *Run) Receive(t testing.TB, ch <-chan stream.Envelope, what string) stream.Envelope {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(r.Timeout):
		t.Fatalf("no %s after %v:\n%s", what, r.Timeout, r.Stderr)
		return stream.Envelope{}
	}
}

// Stop cancels run's context and waits for it to end; it fails the test,
// showing Stderr, unless the exit status is 0.
func (r *Run) Stop(t testing.TB) {
	t.Helper()
	r.cancel()
	<-r.exited
	if r.code != 0 {
		t.Fatalf("exit status %d:\n%s", r.code, r.Stderr)
	}
}

// NewBinder makes a binder of the test's own, named "test-"+typ, with the
// given environment (the binder's connection settings); it is closed when
// the test ends.
func NewBinder(t testing.TB, ctx context.Context, typ string, f stream.BinderFactory, env map[string]any) stream.Binder {
	t.Helper()
	b, err := f(ctx, stream.BinderSettings{Name: "test-" + typ, Type: typ, Environment: env})
	if err != nil {
		t.Fatalf("%s binder: %v", typ, err)
	}
	t.Cleanup(func() { closeOrLog(t, b) })
	return b
}

// InProcess starts an in-process broker and a binder of the test's own on
// it, both closed when the test ends. WithBroker(broker) makes an
// example's app use the same broker.
func InProcess(t testing.TB, ctx context.Context) (*memory.Broker, stream.Binder) {
	t.Helper()
	broker, err := memory.NewBroker(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeOrLog(t, broker) })
	return broker, NewBinder(t, ctx, memory.Type, memory.Factory(broker), nil)
}

// WithBroker is the option that makes an app's in-process binders use
// broker.
func WithBroker(broker *memory.Broker) stream.Option {
	return stream.WithBinderType(memory.Type, memory.Factory(broker))
}

// Kafka starts an in-process Kafka cluster (kfake) and a binder of the
// test's own on it; it returns the cluster's bootstrap addresses (for
// KAFKA_BROKERS) and the binder. Both are closed when the test ends.
func Kafka(t testing.TB, ctx context.Context) (brokers string, side stream.Binder) {
	t.Helper()
	brokers = kafkatest.Start(t).Brokers()
	return brokers, NewBinder(t, ctx, kafka.Type, kafka.New, map[string]any{"brokers": brokers})
}

// RabbitMQ makes a virtual host of the test's own on the local RabbitMQ
// (deleted when the test ends) and a binder of the test's own in it; it
// skips the test (loudly) when RabbitMQ is not there, except in CI. It
// returns the vhost (for RABBIT_VHOST; the address is rabbittest.Address)
// and the binder.
func RabbitMQ(t testing.TB, ctx context.Context) (vhost string, side stream.Binder) {
	t.Helper()
	rabbittest.Require(t)
	vhost = rabbittest.VHost(t)
	return vhost, NewBinder(t, ctx, rabbit.Type, rabbit.New, map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost})
}

// RabbitEnv is the environment an example's application.yaml reads to
// reach the local RabbitMQ in vhost.
func RabbitEnv(vhost string) []string {
	return []string{"RABBIT_ADDRESSES=" + rabbittest.Address(), "RABBIT_VHOST=" + vhost}
}

// SendJSON sends payload, a JSON document, to destination through b.
func SendJSON(t testing.TB, ctx context.Context, b stream.Binder, destination, payload string) {
	t.Helper()
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "test-" + destination, Destination: destination, ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
}

// Consume starts spec on b and returns the channel its messages (copies of
// payload and headers) arrive on. Binding defaults to "test-" plus the
// destination, Consumer to one attempt with concurrency 1; spec.Handler is
// replaced. The consumer stops with ctx or the binder.
func Consume(t testing.TB, ctx context.Context, b stream.Binder, spec stream.ConsumerSpec) <-chan stream.Envelope {
	t.Helper()
	if spec.Binding == "" {
		spec.Binding = "test-" + spec.Destination
	}
	if reflect.ValueOf(spec.Consumer).IsZero() { // ConsumerConfig holds a map: not comparable
		spec.Consumer = stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}
	}
	ch := make(chan stream.Envelope, 64)
	spec.Handler = func(hctx context.Context, m stream.Envelope) error {
		select {
		case ch <- stream.Envelope{Payload: append([]byte(nil), m.Payload...), Headers: m.Headers.Clone()}:
			return nil
		case <-hctx.Done():
			return hctx.Err()
		}
	}
	c, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return ch
}

// ProfilesBuild loads every application-PROFILE.yaml of the current
// directory with its profile (and no environment) and builds it with
// build, without connecting to anything, so that no profile can rot
// unnoticed. It fails the test when there is no profile file.
func ProfilesBuild(t testing.TB, build func(*config.Loaded) error) {
	t.Helper()
	files, err := filepath.Glob("application-*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no profile files: %v", err)
	}
	for _, f := range files {
		profile := strings.TrimSuffix(strings.TrimPrefix(f, "application-"), ".yaml")
		loaded, err := config.Load(config.Options{Profiles: []string{profile}, Env: []string{}})
		if err != nil {
			t.Errorf("profile %s: %v", profile, err)
			continue
		}
		if err := build(loaded); err != nil {
			t.Errorf("profile %s: %v", profile, err)
		}
	}
}

// closeOrLog closes c within closeTimeout and logs an error.
func closeOrLog(t testing.TB, c interface{ Close(context.Context) error }) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Logf("close: %v", err)
	}
}
