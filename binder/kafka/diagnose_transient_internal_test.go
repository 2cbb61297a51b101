package kafka

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestProbePlainBrokerAfterTransientEOF: against a plain broker without
// SASL (kfake, as `streambind kafka serve` runs by default), a bind that
// failed with a closed connection (a broker restart, say) is not
// explained as "requires SASL": kfake lists SASL mechanisms to a
// handshake on any listener, so the probe first asks whether the broker
// answers without authentication (review of 6b785da).
func TestProbePlainBrokerAfterTransientEOF(t *testing.T) {
	k := kafkatest.Start(t)
	b, err := New(context.Background(), stream.BinderSettings{Name: "kafka", Type: Type, Environment: map[string]any{"brokers": k.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	bd := b.(*Binder)
	if m := bd.securityMismatch(context.Background(), io.ErrUnexpectedEOF); m != nil {
		t.Fatalf("a plain broker without SASL, after a transient EOF: %v", m)
	}
}

// TestBindAfterClosedConnStaysRetryable: end to end, the first connection
// to a plain broker is closed at once (the broker restarting): the bind
// stays retryable (stream.Unavailable), not a permanent SASL mismatch.
func TestBindAfterClosedConnStaysRetryable(t *testing.T) {
	k := kafkatest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if n.Add(1) == 1 {
				c.Close() // the broker going down
				continue
			}
			go func() {
				u, err := net.Dial("tcp", k.Brokers())
				if err != nil {
					c.Close()
					return
				}
				go func() { io.Copy(u, c); u.Close() }()
				io.Copy(c, u)
				c.Close()
			}()
		}
	}()
	b, err := New(context.Background(), stream.BinderSettings{Name: "kafka", Type: Type, Environment: map[string]any{"brokers": ln.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: "closed-once"})
	t.Logf("connections: %d, err: %v", n.Load(), err)
	if err != nil && !errors.Is(err, stream.ErrUnavailable) {
		t.Fatalf("a transient closed connection to a plain broker ended start-up: %v", err)
	}
}
