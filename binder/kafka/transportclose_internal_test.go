package kafka

import (
	"context"
	"errors"
	"net"
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
//
// Not parallel: the package's goroutine-counting tests count a parallel
// internal test's parked goroutine (its frames name binder/kafka.) as a
// leak.
func TestCloseEndsConnectionOfRequestRacingClose(t *testing.T) {
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

// TestTransportWaitGraceAfterEndedContext: a Close whose consumers used
// its whole ctx reached the transport's wait with the ctx ended, just as
// stop cut the connections; wait failed at once ("2 broker connection(s)
// ... not closed ... before Close's context ended", seen in
// TestBreakPipeCommitJudged under load) although kafka-go closed them a
// moment later. It now waits transportCutGrace past the ctx.
func TestTransportWaitGraceAfterEndedContext(t *testing.T) {
	tc := newTransportConns("kafka", time.Second)
	a, b := net.Pipe()
	defer b.Close()
	tc.mu.Lock()
	c := &trackedConn{Conn: a, tc: tc}
	tc.open[c] = struct{}{}
	tc.mu.Unlock()
	tc.stop()
	// kafka-go's goroutine sees its i/o fail and closes the connection.
	go func() {
		buf := make([]byte, 1)
		_, _ = c.Read(buf) // fails at once: the deadline is in the past
		_ = c.Close()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tc.wait(ctx); err != nil {
		t.Fatalf("wait with an ended ctx while the cut connection closes: %v", err)
	}
}
