package rabbit

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestSilentServerNamedInDialError: a server that accepts the TCP
// connection and never answers the AMQP protocol header (a wrong port, a
// proxy that does not forward) fails the bind, once connection-timeout
// ends the wait, with an error that says so. It was
// amqp091-go's `Exception (501) Reason: "read tcp ...: use of closed
// network connection"` (new-user trial).
func TestSilentServerNamedInDialError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never written to
		}
	}()
	for _, tc := range []struct {
		name, timeout string
		ctx           time.Duration
		want          string
	}{
		{"connection-timeout", "300ms", 20 * time.Second, "within connection-timeout (300ms)"},
	} {
		_, tr := newTestBinder(t, map[string]any{"addresses": ln.Addr().String(), "connection-timeout": tc.timeout})
		ctx, cancel := context.WithTimeout(context.Background(), tc.ctx)
		_, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "s-out-0", Destination: "silent"})
		cancel()
	drain:
		for {
			select {
			case c := <-accepted:
				conns = append(conns, c)
			default:
				break drain
			}
		}
		if err == nil || !strings.Contains(err.Error(), "did not answer the AMQP handshake "+tc.want) {
			t.Errorf("%s: %v, want an error saying the server did not answer the handshake %s", tc.name, err, tc.want)
		}
	}
}
