package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestCloseEndsConnectionOfRequestRacingClose: a request on the shared
// transport that lands while Close ends the transport (a dead-letter
// cursor's fetch, an admin call) must leave no connection open. With the
// idle connections closed before the transport was stopped, such a
// request made a new pool whose idle connection stop could not end: Close
// waited its whole bound and failed ("1 broker connection(s) ... not
// closed"), and the connection outlived it until the idle timeout.
func TestCloseEndsConnectionOfRequestRacingClose(t *testing.T) {
	t.Parallel()
	k := kafkatest.Start(t)
	b, err := New(context.Background(), stream.BinderSettings{Name: "kafka", Type: Type, Environment: map[string]any{"brokers": k.Brokers()}})
	if err != nil {
		t.Fatal(err)
	}
	bd := b.(*Binder)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := bd.admin.Metadata(ctx, &kafkago.MetadataRequest{}); err != nil {
		t.Fatalf("metadata before Close: %v", err)
	}
	var raced error
	bd.duringTransportClose = func() {
		_, raced = bd.admin.Metadata(ctx, &kafkago.MetadataRequest{})
	}
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelClose()
	if err := b.Close(closeCtx); err != nil {
		t.Fatalf("Close with a request racing it: %v", err)
	}
	if raced == nil {
		t.Fatal("the request racing Close succeeded: it should fail, the binder closing")
	}
	if !errors.Is(raced, stream.ErrClosed) {
		t.Errorf("the request racing Close failed with %v; want stream.ErrClosed in its chain", raced)
	}
	bd.conns.mu.Lock()
	open := len(bd.conns.open)
	bd.conns.mu.Unlock()
	if open != 0 {
		t.Errorf("%d transport connection(s) open after Close", open)
	}
}
