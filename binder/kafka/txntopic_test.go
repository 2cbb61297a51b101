package kafka_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// Topics written by transactional producers (see fetchtxn.go): markers
// are never handed out, aborted transactions only under
// read_uncommitted, and the committed offset and the lag go past both.

// txnWriter writes dest's single partition with a transactional producer.
type txnWriter struct {
	t  *testing.T
	cl *kgo.Client
}

func newTxnWriter(t *testing.T, c *kafkatest.Cluster, dest string) *txnWriter {
	t.Helper()
	if err := c.Kfake.CreateTopic(dest, 1, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID("tx-"+dest), kgo.DefaultProduceTopic(dest))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &txnWriter{t: t, cl: cl}
}

// txn writes vals (each its own key) in one transaction, committed or
// aborted.
func (w *txnWriter) txn(end kgo.TransactionEndTry, vals ...string) {
	t := w.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		if err := w.cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k" + v), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.cl.EndTransaction(ctx, end); err != nil {
		t.Fatal(err)
	}
}

// abortedThenCommitted writes an aborted transaction of two records, then
// a committed one of three: 7 offsets with both markers.
func (w *txnWriter) abortedThenCommitted() {
	w.txn(kgo.TryAbort, "aborted-1", "aborted-2")
	w.txn(kgo.TryCommit, "a", "b", "c")
}

// payloads collects what a handler was given.
type payloads struct {
	mu  sync.Mutex
	got []string
}

func (p *payloads) add(s string) {
	p.mu.Lock()
	p.got = append(p.got, s)
	p.mu.Unlock()
}

func (p *payloads) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.got
	p.got = nil
	return out
}

func (p *payloads) handler(_ context.Context, m stream.Envelope) error {
	p.add(string(m.Payload))
	return nil
}

// waitGroupCommitted waits until group's committed offset of dest's partition 0
// is end: every offset before it was handled or skipped.
func waitGroupCommitted(t *testing.T, c *kafkatest.Cluster, group, dest string, end int64) {
	t.Helper()
	cl := pipeClient(c)
	deadline := time.Now().Add(15 * time.Second)
	last := int64(-1)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{dest: {0}}})
		cancel()
		if err == nil && res.Error == nil {
			for _, p := range res.Topics[dest] {
				if p.Partition == 0 && p.Error == nil {
					last = p.CommittedOffset
				}
			}
		} else if err == nil && !errors.Is(res.Error, kafkago.GroupIdNotFound) {
			t.Fatalf("offset fetch: %v", res.Error)
		}
		if last == end {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling the broker's state; the condition decides
	}
	t.Fatalf("committed offset of %s %d; want %d (the end of the partition)", group, last, end)
}

// checkNoLag checks the consumer's lag of its one partition is 0.
func checkNoLag(t *testing.T, cons stream.Consumer) {
	t.Helper()
	lags, _ := cons.(stream.LagReporter).Lag(context.Background())
	if len(lags) != 1 || lags[0].Lag != 0 {
		t.Errorf("every record handled or skipped, Lag %+v; want 0", lags)
	}
}

// TestTransactionalTopicModes: in every worker mode, the handler gets the
// records of a transactional topic without the markers (and without the
// aborted transaction under read_committed), and the committed offset
// reaches the end of the partition (past the trailing COMMIT marker), the
// lag 0.
func TestTransactionalTopicModes(t *testing.T) {
	t.Parallel()
	committed := []string{"a", "b", "c"}
	all := []string{"aborted-1", "aborted-2", "a", "b", "c"}
	readCommitted := map[string]any{"configuration": map[string]any{"isolation.level": "read_committed"}}
	cases := []struct {
		name  string
		setup func(s *stream.ConsumerSpec, p *payloads)
		want  []string
		order bool // the handler sees them in offset order
	}{
		{"read_uncommitted", func(*stream.ConsumerSpec, *payloads) {}, all, true},
		{"keyed", func(s *stream.ConsumerSpec, _ *payloads) {
			s.Consumer.Concurrency = 4
			s.Extension = map[string]any{"ordering": "key", "configuration": map[string]any{"isolation.level": "read_committed"}}
		}, committed, false},
		{"keyed read_uncommitted", func(s *stream.ConsumerSpec, _ *payloads) {
			s.Consumer.Concurrency = 4
			s.Extension = map[string]any{"ordering": "key"}
		}, all, false},
		{"pipelined", func(s *stream.ConsumerSpec, p *payloads) {
			s.Extension = readCommitted
			s.Consumer.MaxInFlight = 8
			s.AsyncHandler = func(_ context.Context, m stream.Envelope, done func(error)) {
				p.add(string(m.Payload))
				go done(nil)
			}
		}, committed, true},
		{"pipelined read_uncommitted", func(s *stream.ConsumerSpec, p *payloads) {
			s.Consumer.MaxInFlight = 8
			s.AsyncHandler = func(_ context.Context, m stream.Envelope, done func(error)) {
				p.add(string(m.Payload))
				go done(nil)
			}
		}, all, true},
		{"batch", func(s *stream.ConsumerSpec, p *payloads) {
			s.Extension = readCommitted
			s.Consumer.BatchMode = true
			s.BatchHandler = func(_ context.Context, ms []stream.Envelope) error {
				for _, m := range ms {
					p.add(string(m.Payload))
				}
				return nil
			}
		}, committed, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := kafkatest.Start(t)
			b := newBinder(t, c, nil)
			closeBinder(t, b)
			dest := uniqueTopic(t)
			newTxnWriter(t, c, dest).abortedThenCommitted()
			p := &payloads{}
			spec := consumerSpec(dest, "g", p.handler)
			tc.setup(&spec, p)
			cons := startConsumer(t, b, spec)
			waitGroupCommitted(t, c, "g", dest, 7)
			got := p.take()
			if !tc.order {
				slices.Sort(got)
				tc.want = slices.Sorted(slices.Values(tc.want))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("handler got %q; want %q", got, tc.want)
			}
			checkNoLag(t, cons)
		})
	}
}

// TestTransactionalTopicRestart: a consumer restarted after reading a
// transactional topic to its end goes on from there: it gets only what
// was written since (a committed transaction, an aborted one after it),
// nothing again, and commits the new end.
func TestTransactionalTopicRestart(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	w := newTxnWriter(t, c, dest)
	w.abortedThenCommitted()
	p := &payloads{}
	spec := consumerSpec(dest, "g", p.handler)
	spec.Extension = map[string]any{"configuration": map[string]any{"isolation.level": "read_committed"}}
	cons := startConsumer(t, b, spec)
	waitGroupCommitted(t, c, "g", dest, 7)
	if got := p.take(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("first run: handler got %q; want [a b c]", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cons.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	w.txn(kgo.TryCommit, "d")
	w.txn(kgo.TryAbort, "aborted-3")
	if err := cons.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitGroupCommitted(t, c, "g", dest, 11)
	if got := p.take(); !slices.Equal(got, []string{"d"}) {
		t.Errorf("after the restart: handler got %q; want [d]", got)
	}
	checkNoLag(t, cons)
}

// TestMarkerShapedRecordDelivered: a record of an ordinary producer that
// has the shape of a transaction marker (4-byte key 0x00000001, 6-byte
// value 0x0000…, no headers) is a record like any other: the consumer
// reads the partition through the protocol layer from it on and hands it
// out, with the records after it.
func TestMarkerShapedRecordDelivered(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	if err := c.Kfake.CreateTopic(dest, 1, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.DefaultProduceTopic(dest))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	marker := "\x00\x00\x00\x00\x00\x07"
	for _, r := range []*kgo.Record{
		{Value: []byte("before")},
		{Key: []byte{0, 0, 0, 1}, Value: []byte(marker)},
		{Value: []byte("after")},
	} {
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	p := &payloads{}
	cons := startConsumer(t, b, consumerSpec(dest, "g", p.handler))
	waitGroupCommitted(t, c, "g", dest, 3)
	if got, want := p.take(), []string{"before", marker, "after"}; !slices.Equal(got, want) {
		t.Errorf("handler got %q; want %q", got, want)
	}
	checkNoLag(t, cons)
}
