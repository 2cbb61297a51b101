package nats_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// A binder that has never connected is down, with the connect error, while
// its binds fail; not up (readiness, streambind_binder_up) as it was.
func TestHealthDownBeforeFirstConnect(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + l.Addr().String()
	l.Close() // nothing listens there now

	b := newBinder(t, url, map[string]any{"connect-timeout": "1s"})
	closeBinder(t, b)
	if err := b.Health(context.Background()); err != nil {
		t.Fatalf("before any bind: %v, want up (nothing tried yet)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "out-0", Destination: "natstest.health.never", ContentType: stream.DefaultContentType})
	if err == nil || !strings.Contains(err.Error(), "cannot connect") {
		t.Fatalf("BindProducer: %v, want cannot connect", err)
	}
	herr := b.Health(context.Background())
	if herr == nil || !strings.Contains(herr.Error(), "cannot connect") || !strings.Contains(herr.Error(), l.Addr().String()) {
		t.Fatalf("Health after a failed connect: %v, want down with the connect error", herr)
	}
}
