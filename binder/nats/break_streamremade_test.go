package nats_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestBreakStreamRemadeDeadLetterStored: a failed message of a stream
// deleted and made again is dead-lettered although a message of the old
// stream with its sequence was dead-lettered within the duplicate window.
// The dead letter's Nats-Msg-Id was dlq-<stream>-<sequence>: the second
// was taken for a duplicate of the first, not stored, and the message
// terminated — lost without a trace.
func TestBreakStreamRemadeDeadLetterStored(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	dest := unique(t, "remade-dlq")
	dead := newTracker()
	startConsumer(t, b, stream.ConsumerSpec{Destination: stream.DLQName(dest, "g"), Group: "dlq-reader", Handler: dead.handler(0)})
	fail := func(_ context.Context, m stream.Envelope) error { return errors.New("poison " + m.Headers[idHeader]) }
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: fail, Consumer: stream.ConsumerConfig{DLQ: true}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ctx := context.Background()
	if err := p.Send(ctx, msg("first")); err != nil {
		t.Fatal(err)
	}
	dead.wait(t, []string{"first"}, 10*time.Second)
	deleteStream(t, dest)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Send(sctx, msg("second")); err != nil { // sequence 1 again
		t.Fatal(err)
	}
	dead.wait(t, []string{"second"}, 30*time.Second)
}

// remadeHandler fails "new" once with a Nak, after the test says so, and
// reports its second delivery.
type remadeHandler struct {
	mu      sync.Mutex
	calls   map[string]int
	oldIn   chan struct{} // "old" is being handled
	oldGo   chan struct{} // closed: "old" returns
	newIn   chan struct{} // "new" is being handled
	newGo   chan struct{} // closed: "new" returns its Nak
	newBack chan struct{} // "new" came back after its Nak
}

func newRemadeHandler() *remadeHandler {
	rh := &remadeHandler{calls: map[string]int{}, oldIn: make(chan struct{}), oldGo: make(chan struct{}),
		newIn: make(chan struct{}), newGo: make(chan struct{}), newBack: make(chan struct{})}
	return rh
}

// releaseAll lets every handler call return (deferred by a test, so
// that its consumers stop at once when it failed).
func (rh *remadeHandler) releaseAll() { rh.release(rh.oldGo); rh.release(rh.newGo) }

// release closes ch, one of the handler's gates, once.
func (rh *remadeHandler) release(ch chan struct{}) {
	rh.mu.Lock()
	defer rh.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

func (rh *remadeHandler) handle(_ context.Context, m stream.Envelope) error {
	id := m.Headers[idHeader]
	rh.mu.Lock()
	rh.calls[id]++
	n := rh.calls[id]
	rh.mu.Unlock()
	switch {
	case id == "old" && n == 1:
		close(rh.oldIn)
		<-rh.oldGo
	case id == "new" && n == 1:
		close(rh.newIn)
		<-rh.newGo
		return stream.ErrNak
	case id == "new" && n == 2:
		close(rh.newBack)
	}
	return nil
}

// ackPending waits (at most d) until the group's durable on dest's stream
// has want messages delivered and not acknowledged; false when it did not.
func ackPending(t *testing.T, dest, durable string, want int, d time.Duration) bool {
	t.Helper()
	js := jsAt(t, natstest.URL())
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		jc, err := js.Consumer(ctx, natsbinder.StreamName(dest), durable)
		if err == nil {
			info, err := jc.Info(ctx)
			if err == nil && info.NumAckPending == want {
				cancel()
				return true
			}
		}
		cancel()
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond) // polling the server's state, bounded by d
	}
}

// TestBreakStreamRemadeNoStaleAck: a message read from a stream that was
// deleted (and made again) while its handler ran is not acknowledged on
// the new stream's consumer. JetStream's ack names the stream, consumer
// and sequence only: the old message 1's Ack acknowledged the new
// stream's message 1 while its handler ran, and that handler's Nak was
// then ignored — the message lost.
func TestBreakStreamRemadeNoStaleAck(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	dest := unique(t, "remade-ack")
	rh := newRemadeHandler()
	defer rh.releaseAll()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: rh.handle, Consumer: stream.ConsumerConfig{Concurrency: 2}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ctx := context.Background()
	if err := p.Send(ctx, msg("old")); err != nil {
		t.Fatal(err)
	}
	<-rh.oldIn
	deleteStream(t, dest)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Send(sctx, msg("new")); err != nil { // sequence 1 of the new stream
		t.Fatal(err)
	}
	select {
	case <-rh.newIn:
	case <-time.After(30 * time.Second):
		t.Fatal("new not delivered")
	}
	rh.release(rh.oldGo)
	if ackPending(t, dest, "g", 0, 2*time.Second) {
		t.Error("new was acknowledged while its handler ran (the old stream's message's Ack)")
	}
	rh.release(rh.newGo)
	select {
	case <-rh.newBack:
	case <-time.After(15 * time.Second):
		t.Fatal("new, Nak'ed, did not come back")
	}
}

// lineLog records the messages of the log records it handles.
type lineLog struct {
	mu    sync.Mutex
	lines []string
	added chan struct{}
}

func newLineLog() *lineLog { return &lineLog{added: make(chan struct{}, 1)} }

func (l *lineLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *lineLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *lineLog) WithGroup(string) slog.Handler            { return l }
func (l *lineLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.lines = append(l.lines, r.Message)
	l.mu.Unlock()
	select {
	case l.added <- struct{}{}:
	default:
	}
	return nil
}

// wait waits (at most d) for a line containing s; false when none came.
func (l *lineLog) wait(s string, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for _, x := range l.lines {
			if strings.Contains(x, s) {
				l.mu.Unlock()
				return true
			}
		}
		l.mu.Unlock()
		select {
		case <-l.added:
		case <-deadline.C:
			return false
		}
	}
}

// TestBreakStreamRemadeByOtherMember: a member that was not pulling when
// its stream was deleted (it held prefetch messages) sees no error of its
// own; another member of the group made the stream and the durable again.
// It notices by its consumer's creation time (its 5s consumer info), and
// does not acknowledge the old stream's message on the new durable.
func TestBreakStreamRemadeByOtherMember(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	dest := unique(t, "remade-member")
	ext := map[string]any{"prefetch": 1, "ack-wait": "3s"}
	rh := newRemadeHandler()
	defer rh.releaseAll()
	ll := newLineLog()
	// Member B reads "old" and holds it; with prefetch 1 it ends its pull
	// after ack-wait/3 and waits for room.
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: rh.handle, Extension: ext, Logger: slog.New(ll)})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ctx := context.Background()
	if err := p.Send(ctx, msg("old")); err != nil {
		t.Fatal(err)
	}
	<-rh.oldIn
	if !ll.wait("ending the pull", 10*time.Second) {
		t.Fatal("member B did not end its pull")
	}
	deleteStream(t, dest)
	// Member A (another process) binds: it makes the stream and the
	// durable again, and gets the new stream's message 1.
	b2 := tracked{newBinder(t, natstest.URL(), nil), newStreams(t, natstest.URL())}
	closeBinder(t, b2)
	startConsumer(t, b2, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: rh.handle, Extension: ext})
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Send(sctx, msg("new")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rh.newIn:
	case <-time.After(30 * time.Second):
		t.Fatal("new not delivered")
	}
	if !ll.wait("deleted and made again", 15*time.Second) {
		t.Error("member B did not notice that its stream was made again")
	}
	rh.release(rh.oldGo)
	if ackPending(t, dest, "g", 0, 2*time.Second) {
		t.Error("new was acknowledged while its handler ran (the old stream's message's Ack)")
	}
	rh.release(rh.newGo)
	select {
	case <-rh.newBack:
	case <-time.After(15 * time.Second):
		t.Fatal("new, Nak'ed, did not come back")
	}
}

// TestBreakStreamDeletedWhileStopped: bindings stopped before their
// stream was deleted (as the package doc advises) start again, on a
// stream provisioned again, and a consumer bound afterwards by the same
// binder binds. Start failed for good with "stream not found" (only a
// running binding made the stream again), and so did the bind (the
// binder's cached stream).
func TestBreakStreamDeletedWhileStopped(t *testing.T) {
	t.Parallel()
	for _, group := range []string{"g", ""} {
		b, _ := shared(t, nil)
		dest := unique(t, "stopped")
		tr := newTracker()
		spec := stream.ConsumerSpec{Destination: dest, Group: group, Handler: tr.handler(0), Consumer: stream.ConsumerConfig{DLQ: group != ""},
			Extension: map[string]any{"start-offset": "latest"}}
		c := startConsumer(t, b, spec)
		p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
		ctx := context.Background()
		if err := p.Send(ctx, msg("before")); err != nil {
			t.Fatal(err)
		}
		tr.wait(t, []string{"before"}, 10*time.Second)
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		deleteStream(t, dest)
		if group != "" {
			// Another member bound now, by the binder that cached the
			// stream.
			spec2 := spec
			spec2.Binding = "test-in-1"
			startConsumer(t, b, spec2)
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := c.Start(sctx); err != nil {
			t.Errorf("group %q: Start after the stream was deleted: %v", group, err)
		}
		cancel()
		if err := p.Send(ctx, msg("after")); err != nil {
			t.Fatal(err)
		}
		tr.wait(t, []string{"after"}, 20*time.Second)
	}
}
