package binding

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

var _ stream.BindingHealthChecker = (*State)(nil)

func TestState(t *testing.T) {
	var s State
	ctx := context.Background()
	if err := s.Health(ctx); err != nil {
		t.Fatalf("zero State: %v", err)
	}
	down := errors.New("stream is gone")
	s.SetHealth(down)
	if err := s.Health(ctx); err != down {
		t.Fatalf("got %v, want %v", err, down)
	}
	s.SetHealth(nil)
	if err := s.Health(ctx); err != nil {
		t.Fatalf("after SetHealth(nil): %v", err)
	}
}

func TestGate(t *testing.T) {
	var g Gate
	for range 2 {
		if !g.Enter() {
			t.Fatal("open gate refused a send")
		}
	}
	g.Exit()
	already, idle := g.Close()
	if already {
		t.Fatal("first Close reported closed already")
	}
	if g.Enter() {
		t.Fatal("closed gate accepted a send")
	}
	select {
	case <-idle:
		t.Fatal("idle while a send is in progress")
	case <-time.After(20 * time.Millisecond):
	}
	g.Exit()
	select {
	case <-idle:
	case <-time.After(5 * time.Second):
		t.Fatal("not idle after the last send exited")
	}
	already, idle = g.Close()
	if !already {
		t.Fatal("second Close did not report closed already")
	}
	<-idle // nothing in progress: closed at once
}

func TestGateCloseWithNothingInProgress(t *testing.T) {
	var g Gate
	g.Enter()
	g.Exit()
	_, idle := g.Close()
	select {
	case <-idle:
	default:
		t.Fatal("idle channel not closed with nothing in progress")
	}
	var z Gate
	if _, idle := z.Close(); idle == nil {
		t.Fatal("nil idle channel from a zero Gate")
	}
}

// TestGateConcurrentClose: senders entering and exiting from many
// goroutines while the gate closes; once idle is closed no send is in
// progress and none enters any more.
func TestGateConcurrentClose(t *testing.T) {
	for range 50 {
		var g Gate
		var inside, stop atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for stop.Load() == 0 {
					if !g.Enter() {
						return
					}
					inside.Add(1)
					inside.Add(-1)
					g.Exit()
				}
			})
		}
		_, idle := g.Close()
		<-idle
		if n := inside.Load(); n != 0 {
			t.Fatalf("%d sends in progress after idle", n)
		}
		if g.Enter() {
			t.Fatal("Enter succeeded after Close")
		}
		stop.Store(1)
		wg.Wait()
		if already, idle2 := g.Close(); !already || idle2 != idle {
			t.Fatal("second Close: want already and the same channel")
		}
	}
}
