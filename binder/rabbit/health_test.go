package rabbit

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestBlockedIsNotReady: while the broker blocks the binder's connection
// (connection.blocked: a memory or disk alarm), the binder is not ready,
// with the broker's reason; it is ready again once unblocked. The proxy
// the test runs injects the frames, so no alarm is raised on the broker.
func TestBlockedIsNotReady(t *testing.T) {
	t.Parallel()
	px := rabbittest.NewProxy(t, nil)
	b, tr := newTestBinder(t, map[string]any{"addresses": px.Addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "bl-out-0", Destination: uniqueDest(t, "blocked"),
		Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Health(ctx); err != nil {
		t.Fatalf("health before: %v", err)
	}
	if n := px.Block("low on memory"); n == 0 {
		t.Fatal("no connection to block")
	}
	waitHealth := func(ok func(error) bool) error {
		t.Helper()
		for {
			err := b.Health(ctx)
			if ok(err) {
				return err
			}
			if ctx.Err() != nil {
				t.Fatalf("health: %v", err)
			}
			time.Sleep(10 * time.Millisecond) // polling the state, bounded by ctx
		}
	}
	herr := waitHealth(func(err error) bool { return err != nil })
	if !strings.Contains(herr.Error(), "blocked by the broker: low on memory") {
		t.Errorf("health while blocked: %v", herr)
	}
	t.Logf("blocked: %v", herr)
	// Sends wait while blocked, bounded by their ctx.
	sctx, scancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = p.Send(sctx, stream.Envelope{Payload: []byte("x")})
	scancel()
	if err == nil || !strings.Contains(err.Error(), "blocked") {
		t.Errorf("send while blocked: %v", err)
	}
	px.Unblock()
	waitHealth(func(err error) bool { return err == nil })
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("x")}); err != nil {
		t.Errorf("send once unblocked: %v", err)
	}
}

// TestTLSToPlainPortFailsAtOnce: amqps to a port that does not speak TLS
// (the broker's plain AMQP port) is a configuration error, like an
// untrusted certificate: the bind fails at once with a plain error (start-up
// ends), not as unavailable (retried for the whole startup-timeout).
func TestTLSToPlainPortFailsAtOnce(t *testing.T) {
	rabbittest.Require(t)
	b, err := New(context.Background(), stream.BinderSettings{Name: "r", Type: Type, Environment: map[string]any{
		"uri": "amqps://guest:guest@" + rabbittest.Address() + "/", "connection-timeout": "3s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "t-out-0", Destination: "never-declared"})
	took := time.Since(start)
	t.Logf("%v after %v", err, took.Round(time.Millisecond))
	if err == nil || errors.Is(err, stream.ErrUnavailable) || took > 2*time.Second || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("amqps to a plain port: %v after %v, want a plain TLS error at once", err, took)
	}
}

// TestHealthDownWhileNotSpeakingAMQP: an address that accepts TCP but does
// not speak AMQP (found with RabbitMQ's Erlang distribution port, which
// holds the socket silently until connection-timeout) leaves the binder
// not ready: while a bind's first attempt hangs in the handshake, and
// after it failed, with the redacted dial error. It reported up for the
// whole attempt, so readiness stayed up for a start-up that never connected.
func TestHealthDownWhileNotSpeakingAMQP(t *testing.T) {
	t.Parallel()
	const secret = "S3CRET-pw"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	b, err := New(context.Background(), stream.BinderSettings{Name: "r", Type: Type, Environment: map[string]any{
		"uri": "amqp://guest:" + secret + "@" + ln.Addr().String() + "/hv", "connection-timeout": "20s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	hc := b.(*Binder)
	if err := hc.Health(ctx); err != nil {
		t.Fatalf("health before any bind: %v, want up (no connection needed yet)", err)
	}
	bound := make(chan error, 1)
	go func() {
		_, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "h-out-0", Destination: "never-declared"})
		bound <- err
	}()
	var c net.Conn
	select {
	case c = <-accepted:
	case <-ctx.Done():
		t.Fatal("the bind did not connect")
	}
	// The handshake hangs: the peer says nothing.
	herr := hc.Health(ctx)
	t.Logf("during the handshake: %v", herr)
	if herr == nil {
		t.Fatal("health is up while the first connection attempt hangs in the AMQP handshake")
	}
	if strings.Contains(herr.Error(), secret) {
		t.Errorf("health shows the password: %v", herr)
	}
	// The peer answers garbage and hangs up: the attempt fails.
	_, _ = c.Write([]byte("SSH-2.0-not-amqp\r\n"))
	c.Close()
	var berr error
	select {
	case berr = <-bound:
	case <-ctx.Done():
		t.Fatal("the bind did not return")
	}
	if !errors.Is(berr, stream.ErrUnavailable) {
		t.Fatalf("bind: %v, want unavailable", berr)
	}
	herr = hc.Health(ctx)
	t.Logf("after the attempt: %v", herr)
	if herr == nil || !strings.Contains(herr.Error(), "dial amqp://guest:******@"+ln.Addr().String()) || strings.Contains(herr.Error(), secret) {
		t.Fatalf("health after a failed attempt: %v, want down with the redacted dial error", herr)
	}
}
