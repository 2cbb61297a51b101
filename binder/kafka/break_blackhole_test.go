package kafka_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// holeListener is the cluster's listener, whose connections the test can
// black-hole: once start is called, what either side writes on a
// connection open then, or made while hole is set, is thrown away and the
// connection stays open (a NAT or firewall that lost its state), and a
// connection black-holed once stays so; new connections made after the
// hole ended (hole cleared) work.
type holeListener struct {
	net.Listener
	hole atomic.Bool

	mu    sync.Mutex
	conns []*holeConn
}

func (l *holeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	hc := &holeConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns = append(l.conns, hc)
	l.mu.Unlock()
	return hc, nil
}

// start begins the hole: every connection open now is dead from this
// moment, whenever the broker's goroutine gets to read what was written
// on it afterwards. (Marking a connection dead only when the broker read
// from it while hole was set let a request written during the hole
// through when the broker's goroutine read it after the hole ended: on a
// loaded machine TestBreakBlackholeAbandonedSendNotRetried saw the
// abandoned record written.)
func (l *holeListener) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hole.Store(true)
	for _, c := range l.conns {
		c.dead.Store(true)
	}
}

type holeConn struct {
	net.Conn
	l    *holeListener
	dead atomic.Bool
}

func (c *holeConn) isDead() bool {
	if c.l.hole.Load() {
		c.dead.Store(true)
	}
	return c.dead.Load()
}

func (c *holeConn) Read(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		if !c.isDead() || err != nil {
			if c.isDead() {
				n = 0
			}
			return n, err
		}
	}
}

func (c *holeConn) Write(p []byte) (int, error) {
	if c.isDead() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// startHoleCluster starts a kfake cluster whose connections the returned
// listener black-holes.
func startHoleCluster(t *testing.T) (*kafkatest.Cluster, *holeListener) {
	t.Helper()
	return startListenerCluster(t, func(l net.Listener) *holeListener { return &holeListener{Listener: l} })
}

// startListenerCluster starts a kfake cluster whose listener is wrap of a
// loopback one (a fault layer under the broker), and returns the wrapper.
func startListenerCluster[L net.Listener](t *testing.T, wrap func(net.Listener) L) (*kafkatest.Cluster, L) {
	t.Helper()
	var mu sync.Mutex
	var wl L
	c := kafkatest.Start(t, kfake.ListenFn(func(network, addr string) (net.Listener, error) {
		l, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		wl = wrap(l)
		return wl, nil
	}))
	mu.Lock()
	defer mu.Unlock()
	return c, wl
}

// TestBreakBlackholeAbandonedSendNotRetried: a Send whose ctx ended during
// a black hole returned an error (the core sends again); the producer does
// not retry its record after that, so that it is not written once the
// network is back (a duplicate of the send again), nor holds up the next
// Send of its partition. Before, the record was retried up to
// send-attempts times behind which the next Send waited: it was written
// after the hole, before the next one, and a Send without a deadline in a
// long outage took twice send-attempts × write-timeout.
func TestBreakBlackholeAbandonedSendNotRetried(t *testing.T) {
	t.Parallel()
	c, hl := startHoleCluster(t)
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type,
		Environment: map[string]any{"brokers": c.Brokers()}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	dest := uniqueTopic(t)
	ctx := context.Background()
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "out", Destination: dest, ContentType: stream.DefaultContentType,
		Extension: map[string]any{"write-timeout": "500ms", "send-attempts": 20}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	send := func(id string, d time.Duration) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return p.Send(ctx, stream.Envelope{Payload: []byte(id), Headers: map[string]string{idHeader: id}})
	}
	if err := send("before", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	hl.start()
	if err := send("abandoned", 100*time.Millisecond); err == nil {
		t.Fatal("a send through a black hole succeeded")
	}
	// The network is back for new connections; the one the abandoned
	// record went out on stays silent until write-timeout.
	hl.hole.Store(false)
	start := time.Now()
	if err := send("after", 15*time.Second); err != nil {
		t.Fatalf("send after the hole: %v", err)
	}
	t.Logf("the send after the hole took %s", time.Since(start).Round(time.Millisecond))

	got := make(chan string, 16)
	startConsumer(t, b, consumerSpec(dest, "check", func(_ context.Context, m stream.Envelope) error {
		got <- string(m.Payload)
		return nil
	}))
	var seen []string
	deadline := time.After(20 * time.Second)
	for len(seen) == 0 || seen[len(seen)-1] != "after" {
		select {
		case id := <-got:
			seen = append(seen, id)
		case <-deadline:
			t.Fatalf("the topic holds %v, not yet the send after the hole", seen)
		}
	}
	if want := []string{"before", "after"}; len(seen) != 2 || seen[0] != want[0] {
		t.Errorf("the topic holds %v, want %v: the abandoned send's record was written after its Send failed", seen, want)
	}
}
