package kafka_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// A topic deleted and created again (or a partition's log that lost its
// tail) while a consumer is live: the fetch position is past the end of
// the new log. The fetcher resets it to the binding's start offset, as
// Kafka's consumer applies auto.offset.reset, rather than waiting for the
// new log to grow past the old position (which skipped every new record
// before it).

const (
	recreateTimeout = 60 * time.Second
	// recreateWarn is the WARN line of a reset.
	recreateWarn = "kafka: the partition's log no longer holds the position"
)

// signalHandler is a slog handler that records into a logRecorder and
// wakes ch at each line, so that a test waits for a log line on a channel.
type signalHandler struct {
	slog.Handler
	ch chan struct{}
}

func (h signalHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	select {
	case h.ch <- struct{}{}:
	default:
	}
	return err
}

func (h signalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return signalHandler{Handler: h.Handler.WithAttrs(as), ch: h.ch}
}

func (h signalHandler) WithGroup(name string) slog.Handler {
	return signalHandler{Handler: h.Handler.WithGroup(name), ch: h.ch}
}

// recordingBinder is a kafka binder on c whose log lines go to logs;
// changed is woken at each line.
func recordingBinder(t testing.TB, c *kafkatest.Cluster) (b stream.Binder, logs *logRecorder, changed chan struct{}) {
	t.Helper()
	logs = &logRecorder{}
	changed = make(chan struct{}, 1)
	log := slog.New(signalHandler{Handler: logs.logger().Handler(), ch: changed})
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type,
		Environment: map[string]any{"brokers": c.Brokers()}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range logs.since(slog.LevelDebug, time.Time{}) {
				t.Log(l)
			}
		}
	})
	return b, logs, changed
}

// resetLines returns the reset WARN lines for topic logged so far.
func resetLines(logs *logRecorder, topic string) []logLine {
	var out []logLine
	for _, l := range logs.since(slog.LevelWarn, time.Time{}) {
		if strings.HasPrefix(l.msg, recreateWarn) && attr(l, "topic") == topic {
			out = append(out, l)
		}
	}
	return out
}

// attr is the value of l's last attribute key ("" when none).
func attr(l logLine, key string) string {
	v := ""
	for _, a := range l.attrs {
		if a.Key == key {
			v = a.Value.String()
		}
	}
	return v
}

// waitResets waits until a reset WARN line was logged for each of parts
// partitions of topic, and returns them.
func waitResets(t testing.TB, logs *logRecorder, changed <-chan struct{}, topic string, parts int) []logLine {
	t.Helper()
	deadline := time.NewTimer(recreateTimeout)
	defer deadline.Stop()
	for {
		ls := resetLines(logs, topic)
		seen := map[string]bool{}
		for _, l := range ls {
			seen[attr(l, "partition")] = true
		}
		if len(seen) >= parts {
			return ls
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no reset logged for every partition of %s after %s: %d lines %v", topic, recreateTimeout, len(ls), ls)
		}
	}
}

// recreate deletes topic and creates it again with parts partitions, at
// once (the consumer's partition watcher sees no change: the live
// generation goes on at its old positions).
func recreate(t testing.TB, c *kafkatest.Cluster, topic string, parts int32) {
	t.Helper()
	if err := c.Kfake.DeleteTopic(topic); err != nil {
		t.Fatalf("delete topic %s: %v", topic, err)
	}
	createTopic(t, c, topic, parts, nil)
}

// TestRecreateTopicNamedGroup: a named group (earliest) consumes a topic
// of 3 partitions; the topic is deleted and created again with the same
// partitions, and fewer records than the old positions are written to it:
// each is delivered (the positions are reset to the earliest offset, one
// WARN line per partition naming the old and new position), and their
// offsets, below the old ones, are committed; after a restart of the
// consumer, records written meanwhile (past the old positions) are
// delivered too. In each of the worker's modes: sequential, batch,
// ordering key, pipelined.
func TestRecreateTopicNamedGroup(t *testing.T) {
	for _, mode := range []string{"sequential", "batch", "key", "pipelined"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			const parts = 3
			c := kafkatest.Start(t)
			b, logs, changed := recordingBinder(t, c)
			dest := uniqueTopic(t)
			createTopic(t, c, dest, parts, nil)
			p := bindProducer(t, b, dest, parts)
			tr := newTracker()
			spec := consumerSpec(dest, "g", tr.handler())
			switch mode {
			case "batch":
				spec.Consumer.BatchMode = true
				spec.BatchHandler = func(_ context.Context, ms []stream.Envelope) error {
					for _, m := range ms {
						tr.receive(m.Headers[idHeader])
					}
					return nil
				}
			case "key":
				spec.Consumer.Concurrency = 2
				spec.Extension = map[string]any{"ordering": "key"}
			case "pipelined":
				spec.Consumer.MaxInFlight = 8
				spec.AsyncHandler = func(_ context.Context, m stream.Envelope, done func(error)) {
					tr.receive(m.Headers[idHeader])
					done(nil)
				}
			}
			cons := startConsumer(t, b, spec)

			ctx := context.Background()
			produce(ctx, t, p, tr, "a", 10*parts, parts, 0) // positions 10
			tr.waitAll(t, recreateTimeout)

			recreate(t, c, dest, parts)
			produce(ctx, t, p, tr, "b", 4*parts, parts, 0) // below the old positions
			tr.waitAll(t, recreateTimeout)
			for _, l := range waitResets(t, logs, changed, dest, parts) {
				if attr(l, "offset") != "10" || attr(l, "new_offset") != "0" || attr(l, "start_offset") != "earliest" {
					t.Errorf("reset line %s: want offset 10, new_offset 0, start_offset earliest", l)
				}
			}

			// Stop commits the new log's offsets, below the old ones.
			sctx, cancel := context.WithTimeout(ctx, recreateTimeout)
			defer cancel()
			if err := cons.Stop(sctx); err != nil {
				t.Fatal(err)
			}
			cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
			for part := range parts {
				if got := carryCommitted(t, cl, "g", dest, part); got != 4 {
					t.Errorf("partition %d: committed %d after the stop, want 4", part, got)
				}
			}

			// A restart goes on from there: what was written meanwhile,
			// past the old positions, is delivered.
			produce(ctx, t, p, tr, "c", 10*parts, parts, 0)
			startConsumer(t, b, spec)
			tr.waitAll(t, recreateTimeout)
			if n := len(resetLines(logs, dest)); n != parts {
				t.Errorf("%d reset lines, want %d (one per partition, none after the restart)", n, parts)
			}
			logs.checkHygiene(t)
		})
	}
}

// TestRecreateTopicAnonymous: an anonymous consumer (latest) on a topic
// deleted and created again resets to the end of the new log (one WARN
// line per partition saying latest): it does not hang, and it reads what
// is written after the reset.
func TestRecreateTopicAnonymous(t *testing.T) {
	t.Parallel()
	const parts = 3
	c := kafkatest.Start(t)
	b, logs, changed := recordingBinder(t, c)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, parts, nil)
	p := bindProducer(t, b, dest, parts)
	tr := newTracker()
	startConsumer(t, b, consumerSpec(dest, "", tr.handler()))
	ctx := context.Background()
	warmUp(t, p, tr, parts)

	produce(ctx, t, p, tr, "a", 10*parts, parts, 0)
	tr.waitAll(t, recreateTimeout)
	recreate(t, c, dest, parts)
	produce(ctx, t, p, tr, "b", 2*parts, parts, 0) // below the old positions: skipped by latest
	for _, l := range waitResets(t, logs, changed, dest, parts) {
		if attr(l, "start_offset") != "latest" || attr(l, "new_offset") != attr(l, "last") {
			t.Errorf("reset line %s: want start_offset latest, new_offset the log's last offset", l)
		}
	}
	// What is written after the resets is delivered; what was written
	// before them need not be.
	tr.mu.Lock()
	for id := range tr.sent {
		if strings.HasPrefix(id, "b-") {
			delete(tr.sent, id)
		}
	}
	skipped := 2*parts - len(tr.got) + 10*parts
	tr.mu.Unlock()
	produce(ctx, t, p, tr, "c", 5*parts, parts, 0)
	tr.waitAll(t, recreateTimeout)
	t.Logf("%d of the %d records written before the resets were skipped", skipped, 2*parts)
}

// warmUp writes a record to each of parts partitions until a round is
// received whole: an anonymous consumer (latest) is then positioned on
// every partition. The records are tracked apart from tr's.
func warmUp(t testing.TB, p stream.Producer, tr *tracker, parts int) {
	t.Helper()
	warm := newTracker()
	deadline := time.Now().Add(recreateTimeout)
	for round := 0; ; round++ {
		prefix := "warm" + strconv.Itoa(round)
		produce(context.Background(), t, p, warm, prefix, parts, parts, 0)
		t0 := time.NewTimer(500 * time.Millisecond)
		for {
			tr.mu.Lock()
			n := 0
			for i := range parts {
				if tr.got[prefix+"-"+strconv.Itoa(i)] > 0 {
					n++
				}
			}
			tr.mu.Unlock()
			if n == parts {
				t0.Stop()
				tr.mu.Lock()
				// Forget the warm-up records: tr's waitAll checks its own.
				for id := range tr.got {
					if strings.HasPrefix(id, "warm") {
						delete(tr.got, id)
					}
				}
				tr.mu.Unlock()
				return
			}
			select {
			case <-tr.changed:
				continue
			case <-t0.C:
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the anonymous consumer received no round of warm-up records")
		}
	}
}

// TestRecreateCommittedPastEnd: a group whose committed offsets lie past
// the end of the partition's log (left over from a topic's earlier life,
// or a log that lost its tail) starts at the earliest offset when it
// joins, rather than waiting for the log to grow past them.
func TestRecreateCommittedPastEnd(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b, logs, changed := recordingBinder(t, c)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 1, nil)
	p := bindProducer(t, b, dest, 1)
	tr := newTracker()
	produce(context.Background(), t, p, tr, "a", 5, 1, 0)

	ctx, cancel := context.WithTimeout(context.Background(), recreateTimeout)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
	res, err := cl.OffsetCommit(ctx, &kafkago.OffsetCommitRequest{GroupID: "g", GenerationID: -1,
		Topics: map[string][]kafkago.OffsetCommit{dest: {{Partition: 0, Offset: 100}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range res.Topics[dest] {
		if pr.Error != nil {
			t.Fatalf("commit: %v", pr.Error)
		}
	}

	startConsumer(t, b, consumerSpec(dest, "g", tr.handler()))
	tr.waitAll(t, recreateTimeout)
	for _, l := range waitResets(t, logs, changed, dest, 1) {
		if attr(l, "offset") != "100" || attr(l, "new_offset") != "0" {
			t.Errorf("reset line %s: want offset 100, new_offset 0", l)
		}
	}
}

// TestRecreateCommitsPrefixEqualToOldCommit: a live generation committed
// offset 10 of the old log; the topic is deleted and created again (Kafka,
// and kfake, drop the group's commits with it); the fetcher resets to 0
// and the new log's first 10 records settle at once. Their processed
// prefix is 10, the number the generation committed for the old log: the
// committer skipped it (nothing moved, it thought), the group kept no
// commit, and a restart handled the 10 records again. Found by an
// adversarial review; fixed by partOffset.reset.
func TestRecreateCommitsPrefixEqualToOldCommit(t *testing.T) {
	c := kafkatest.Start(t)
	b, logs, changed := recordingBinder(t, c)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 1, nil)
	p := bindProducer(t, b, dest, 1)
	tr := newTracker()

	// Pipelined: the done callbacks of the "b" records are held until all
	// ten arrived, then called last to first, so that the ten settle at
	// once (one mark of 10).
	var mu sync.Mutex
	var held []func(error)
	spec := consumerSpec(dest, "g", tr.handler())
	spec.Consumer.MaxInFlight = 16
	spec.AsyncHandler = func(_ context.Context, m stream.Envelope, done func(error)) {
		id := m.Headers[idHeader]
		tr.receive(id)
		if len(id) > 0 && id[0] == 'b' {
			mu.Lock()
			held = append(held, done)
			if len(held) == 10 {
				for i := len(held) - 1; i >= 0; i-- {
					held[i](nil)
				}
				held = nil
			}
			mu.Unlock()
			return
		}
		done(nil)
	}
	cons := startConsumer(t, b, spec)
	ctx := context.Background()
	produce(ctx, t, p, tr, "a", 10, 1, 0)
	tr.waitAll(t, recreateTimeout)
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
	waitCommittedOffset(t, cl, dest, 10)

	recreate(t, c, dest, 1)
	waitResets(t, logs, changed, dest, 1) // empty new log: reset to 0
	produce(ctx, t, p, tr, "b", 10, 1, 0)
	tr.waitAll(t, recreateTimeout)

	sctx, cancel := context.WithTimeout(ctx, recreateTimeout)
	defer cancel()
	if err := cons.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	if got := carryCommitted(t, cl, "g", dest, 0); got != 10 {
		t.Errorf("committed %d after the stop, want 10 (the new log's 10 records were handled)", got)
	}
	// A restart goes on after them: a record sent now is the first one it
	// handles (one partition: one handled again would come before it).
	tr2 := newTracker()
	startConsumer(t, b, consumerSpec(dest, "g", tr2.handler()))
	produce(ctx, t, p, tr2, "c", 1, 1, 0)
	tr2.waitAll(t, recreateTimeout)
	if n := tr2.received(); n != 1 {
		t.Errorf("after a clean stop and restart, %d records of the new log were handled again", n-1)
	}
}

// waitCommittedOffset waits until group g's committed offset of topic's
// partition 0 is want.
func waitCommittedOffset(t *testing.T, cl *kafkago.Client, topic string, want int64) {
	t.Helper()
	deadline := time.Now().Add(recreateTimeout)
	for carryCommitted(t, cl, "g", topic, 0) != want {
		if time.Now().After(deadline) {
			t.Fatalf("committed offset never reached %d", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
