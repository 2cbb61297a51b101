package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// batchReplay reads spec's dead letters with a claiming cursor a batch at
// a time, as dlq replay does: it passes over (Release) at once those
// remove rejects, then removes the others of the batch at once
// (RemoveBatch). It stops at the first batch whose removal failed and
// returns what was read, how many were removed, and that batch's errors.
func batchReplay(t *testing.T, b stream.Binder, spec stream.ConsumerSpec, batch int, remove func(stream.DeadLetter) bool) (read []string, removed int, failed []error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dl, err := b.(*kafka.Binder).OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{Claim: true, Lease: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(context.Background())
	bt, ok := dl.(stream.DeadLetterBatcher)
	if !ok {
		t.Fatal("the claiming cursor is no stream.DeadLetterBatcher")
	}
	for {
		ds, err := bt.NextBatch(ctx, batch)
		if errors.Is(err, io.EOF) {
			return read, removed, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 || len(ds) > batch {
			t.Fatalf("NextBatch(%d) returned %d", batch, len(ds))
		}
		var rm []stream.DeadLetter
		for _, d := range ds {
			read = append(read, string(d.Envelope.Payload))
			if remove(d) {
				rm = append(rm, d)
			} else if err := dl.Release(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		if len(rm) == 0 {
			continue
		}
		errs := bt.RemoveBatch(ctx, rm)
		for i := range rm {
			if errs == nil || errs[i] == nil {
				removed++
			} else {
				failed = append(failed, errs[i])
			}
		}
		if failed != nil {
			return read, removed, failed
		}
	}
}

// txnDLQ writes n dead letters "d0".."d<n-1>" to spec's dead-letter topic
// (one partition), each in a transaction of its own: d C d C …
func txnDLQ(t *testing.T, c *kafkatest.Cluster, spec stream.ConsumerSpec, n int) string {
	t.Helper()
	dlq := stream.ErrorDestinationSource(spec, "").Destination
	if err := c.Kfake.CreateTopic(dlq, 1, nil); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.TransactionalID("a-"+dlq), kgo.DefaultProduceTopic(dlq))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// 1,200 transactions take 1-5s alone and over a minute beside the
	// package's other tests under -race on a loaded CI machine (a 60s
	// bound failed there): a bound on a hang, not a speed check.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for i := range n {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "d%d", i)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
	}
	return dlq
}

// dlqCommitted is group streambind-dlq's committed offset and metadata on
// partition 0 of topic.
func dlqCommitted(t *testing.T, c *kafkatest.Cluster, topic string) (int64, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := pipeClient(c).OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: kafka.DefaultDeadLetterGroup, Topics: map[string][]int{topic: {0}}})
	if err == nil {
		err = res.Error // res is nil when err is not
	}
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	for _, p := range res.Topics[topic] {
		return p.CommittedOffset, p.Metadata
	}
	t.Fatalf("no offset of %s[0]", topic)
	return 0, ""
}

// TestDeadLettersBatchTransactionalKept: a batched replay of a topic
// written in transactions (a marker after each dead letter) that keeps
// d0 and, in the middle of a batch, d300 (passed over before the others
// of its batch are removed) records what it removed as two ranges that
// span the markers, as one at a time does: the cursor prunes the markers
// beside a kept dead letter only once no dead letter before it is held.
// Pruned as the batch was read (each dead letter before the next one
// still unremoved), the list was one offset per dead letter and passed
// the metadata's limit (2,400 dead letters: "too many dead letters
// removed behind kept ones").
func TestDeadLettersBatchTransactionalKept(t *testing.T) {
	t.Parallel()
	c, b, spec, _ := deadLetterSetup(t)
	const n = 1200
	dlq := txnDLQ(t, c, spec, n)
	kept := func(d stream.DeadLetter) bool { p := string(d.Envelope.Payload); return p == "d0" || p == "d300" }
	read, removed, failed := batchReplay(t, b, spec, 128, func(d stream.DeadLetter) bool { return !kept(d) })
	if failed != nil {
		t.Fatalf("removal failed: %v", failed[0])
	}
	if len(read) != n || removed != n-2 {
		t.Fatalf("read %d, removed %d; want %d, %d", len(read), removed, n, n-2)
	}
	off, meta := dlqCommitted(t, c, dlq)
	if want := fmt.Sprintf("streambind-dlq-removed:2-598,602-%d", 2*n-2); off != 0 || meta != want {
		t.Errorf("committed %d %q; want 0 %q", off, meta, want)
	}
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); !slices.Equal(got, []string{"d0", "d300"}) {
		t.Fatalf("after the batched replay, listed %q; want d0 d300", got)
	}
	// The rest, batched: the committed offset goes to the end.
	if _, removed, failed := batchReplay(t, b, spec, 128, func(stream.DeadLetter) bool { return true }); removed != 2 || failed != nil {
		t.Fatalf("second replay removed %d (%v); want 2", removed, failed)
	}
	if off, meta := dlqCommitted(t, c, dlq); off != 2*n || meta != "" {
		t.Errorf("committed %d %q; want %d, the end, with nothing listed", off, meta, 2*n)
	}
}

// TestDeadLettersBatchMetadataLimit: a batched replay that keeps every
// other dead letter fills the commit metadata's list; it removes as many
// as Remove one at a time does, and then fails with Remove's error for
// one dead letter only (the first of its batch): the batches shrink as
// the list fills, so that a replay sends no batch of copies whose dead
// letters it cannot remove.
func TestDeadLettersBatchMetadataLimit(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	const n = 2400
	var removedOne int
	var errOne error
	var specs []stream.ConsumerSpec
	for range 2 {
		dest := uniqueTopic(t)
		spec := consumerSpec(dest, "g", func(context.Context, stream.Envelope) error { return nil })
		p := bindProducer(t, b, stream.ErrorDestinationSource(spec, "").Destination, 1)
		sendInOrder(t, p, n)
		specs = append(specs, spec)
	}
	odd := func(d stream.DeadLetter) bool {
		var i int
		fmt.Sscanf(string(d.Envelope.Payload), "d%d", &i)
		return i%2 == 1
	}
	// One at a time, as a paced replay: stop at the first failure.
	func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		dl, err := b.(*kafka.Binder).OpenDeadLetters(ctx, specs[0], stream.DeadLetterOpen{Claim: true, Lease: 6 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer dl.Close(context.Background())
		for {
			d, err := dl.Next(ctx)
			if err != nil {
				t.Fatalf("one at a time: %v after %d removed", err, removedOne)
			}
			if !odd(d) {
				if err := dl.Release(ctx, d); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if errOne = dl.Remove(ctx, d); errOne != nil {
				return
			}
			removedOne++
		}
	}()
	_, removed, failed := batchReplay(t, b, specs[1], 128, odd)
	if len(failed) != 1 {
		t.Fatalf("batched: %d removals failed (%v); want 1", len(failed), failed)
	}
	if removed != removedOne {
		t.Errorf("batched removed %d; one at a time %d", removed, removedOne)
	}
	if !strings.Contains(failed[0].Error(), "too many dead letters removed behind kept ones") || !strings.Contains(errOne.Error(), "too many dead letters removed behind kept ones") {
		t.Errorf("errors: batched %v; one at a time %v", failed[0], errOne)
	}
	t.Logf("removed %d: %v", removed, failed[0])
}

// TestDeadLettersBatchClaimLost: a claiming cursor that holds a batch
// longer than the lease while another joins the group is dropped, and the
// other reads the same dead letters: the first one's RemoveBatch is
// refused by the broker (generation fencing) and fails each with
// ErrClaimLost, removing nothing, and the second removes them.
func TestDeadLettersBatchClaimLost(t *testing.T) {
	t.Parallel()
	_, b, spec, dlq := deadLetterSetup(t)
	p := bindProducer(t, b, dlq, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for i := range 10 {
		if err := p.Send(ctx, stream.Envelope{Payload: fmt.Appendf(nil, "d%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	open := func() (stream.DeadLetters, stream.DeadLetterBatcher) {
		dl, err := b.(*kafka.Binder).OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{Claim: true, Lease: 6 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = dl.Close(context.Background()) })
		return dl, dl.(stream.DeadLetterBatcher)
	}
	_, a := open()
	held, err := a.NextBatch(ctx, 128)
	if err != nil || len(held) != 10 {
		t.Fatalf("first cursor: %d, %v", len(held), err)
	}
	_, bb := open()
	type res struct {
		ds  []stream.DeadLetter
		err error
	}
	got := make(chan res, 1)
	go func() { ds, err := bb.NextBatch(ctx, 128); got <- res{ds, err} }()
	var r res
	select {
	case r = <-got:
	case <-ctx.Done():
		t.Fatal("the second cursor read nothing")
	}
	if r.err != nil || len(r.ds) != 10 {
		t.Fatalf("second cursor: %d, %v; want the 10 the first one held past its lease", len(r.ds), r.err)
	}
	errs := a.RemoveBatch(ctx, held)
	if errs == nil {
		t.Fatal("the dropped cursor removed its batch")
	}
	for i, err := range errs {
		if !errors.Is(err, stream.ErrClaimLost) {
			t.Errorf("dead letter %s: %v; want ErrClaimLost", held[i].ID, err)
		}
	}
	if errs := bb.RemoveBatch(ctx, r.ds); errs != nil {
		t.Fatalf("second cursor: %v", errs)
	}
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); len(got) != 0 {
		t.Errorf("left %q", got)
	}
}

// TestDeadLettersBatchTransactionalTopic: the batched twin of
// TestDeadLettersTransactionalTopic, over two partitions with aborted
// transactions, some rounds of them: a batched replay that keeps one dead
// letter (d3.0) reads only the committed dead letters, in batches that
// span both partitions, and commits past the markers and aborted records;
// a second one removes d3.0, and the group stands at each partition's
// end with nothing listed.
func TestDeadLettersBatchTransactionalTopic(t *testing.T) {
	t.Parallel()
	c, b, spec, dlq := deadLetterSetup(t)
	want, ends := c.TxnDeadLetters(t, dlq, 20, func(name string) []byte { return []byte(name) })
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	got, removed, failed := batchReplay(t, b, spec, 7, func(d stream.DeadLetter) bool { return string(d.Envelope.Payload) != "d3.0" })
	if failed != nil || removed != len(want)-1 || !slices.Equal(sorted(got), want) {
		t.Fatalf("replay read %d, removed %d (%v); want %d committed dead letters read, all but d3.0 removed", len(got), removed, failed, len(want))
	}
	if got, _ := readDeadLetters(t, b, spec, stream.DeadLetterOpen{}, nil); !slices.Equal(got, []string{"d3.0"}) {
		t.Fatalf("after the filtered replay, listed %q; want d3.0", got)
	}
	if got, removed, failed := batchReplay(t, b, spec, 7, func(stream.DeadLetter) bool { return true }); removed != 1 || failed != nil {
		t.Fatalf("second replay read %q, removed %d (%v); want d3.0", got, removed, failed)
	}
	wantCommittedAtEnds(t, c, dlq, ends)
}

// sendInOrder writes the dead letters "d0".."d<n-1>" to p's one-partition
// topic in that order: SendAsync from one goroutine keeps the order per
// partition, and batches, where a Send at a time waits for each answer
// (4800 of them were half of TestDeadLettersBatchMetadataLimit's time).
func sendInOrder(t *testing.T, p stream.Producer, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ap := p.(stream.AsyncProducer)
	errs := make(chan error, n)
	for i := range n {
		ap.SendAsync(ctx, stream.Envelope{Payload: fmt.Appendf(nil, "d%d", i)}, func(err error) { errs <- err })
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
