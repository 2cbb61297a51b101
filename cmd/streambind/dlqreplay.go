package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/streambind/streambind/stream"
)

// replayWindow bounds the dead letters a pipelined replay has in flight:
// read in one batch, their copies sent at once, and removed once all of
// them were confirmed (copies sent, or confirmed and not yet removed).
// A replay killed (SIGKILL) duplicates at most these; a cursor that holds
// one dead letter at a time (in process: no stream.DeadLetterBatcher)
// has a window of 1.
const replayWindow = 128

// replayer is one run of dlq replay over a cursor: it reads (Next), passes
// over what the filters reject (Release), sends a copy of the rest and
// removes each dead letter once its copy is confirmed. With a cursor that
// batches (stream.DeadLetterBatcher: Kafka, NATS, Redis, RabbitMQ) it reads and removes
// several per round trip and has up to replayWindow copies in flight at
// once; the cursor is used from the run's goroutine only, the sends from
// goroutines of their own.
type replayer struct {
	// set by the caller
	dest string
	// group, when set, is the consumer group the copies are for
	// (stream.HeaderReplayGroup): on NATS and Redis, the binding's group
	// when they go back to its destination, whose other groups'
	// consumers acknowledge them without handling them.
	group      string
	dryRun     bool
	maxReplays int
	limit      int
	lease      time.Duration
	tick       <-chan time.Time
	match      func(stream.DeadLetter) (ok, noTime bool)
	producer   func(ctx context.Context, dest string) (p stream.Producer, bound bool, err error)
	note       func(format string, args ...any) // on stderr
	dry        func(d stream.DeadLetter)        // prints what would be replayed
	progress   func(n int)

	// the summary
	replayed, skipped, untimed, looped, lost, elsewhere, payloadless int
	// keyless counts the copies replayed without the key their dead
	// letter lost to the dead-letter queue's limit.
	keyless int
	// read counts the dead letters read; atLimit is set when reading
	// stopped at --limit, so that the summary's counts of what was passed
	// over say they are of what was read, not of all the dead letters.
	read    int
	atLimit bool
	// noted counts the notes of each repetitive kind (noteCapped).
	noted map[string]int

	window    int
	flights   []*flight // sent, in the order read; not yet removed or failed
	settled   chan *flight
	inflight  int                // sends not settled
	confirmed []*flight          // settled, copy confirmed, not yet removed
	lanes     map[string]*flight // the last send of each key, for order
	sendErr   error              // the first failed send
	failedN   int                // sends failed (they stay)
	// sendCtx is what sends honour: the run's ctx, but once that ends
	// (an interrupt) only after interruptGrace, so that the copies in
	// flight are confirmed and their dead letters removed.
	sendCtx context.Context
}

// interruptGrace is how long the copies in flight when a replay is
// interrupted (SIGINT, SIGTERM) have to be confirmed before their sends
// are cancelled. A cancelled send whose copy the broker stored anyway
// leaves its dead letter, replayed again by the next replay: up to a
// batch of duplicates for a Ctrl-C, where a broker that answers confirms
// them in milliseconds.
const interruptGrace = 5 * time.Second

// flight is one dead letter whose copy is being sent.
type flight struct {
	d    stream.DeadLetter
	dest string
	lane string
	done chan struct{} // closed once err is set
	err  error
	// state is the run's (its goroutine's only): 0 in flight, 1
	// confirmed, 2 failed.
	state int
}

// laneOf is the order key of d's copy to dest: copies of one key (else
// of one partition, scst_partition) go one after the other, in the
// dead letters' order, as the dead letters were sent and as Sends one
// after another store them; "" for neither, whose copies may be stored in
// any order within the window.
func laneOf(dest string, d stream.DeadLetter) string {
	if len(d.Key) > 0 {
		return dest + "\x00k" + string(d.Key)
	}
	if p, ok := d.Headers[stream.HeaderPartition]; ok {
		return dest + "\x00p" + p
	}
	return ""
}

func (r *replayer) run(ctx context.Context, cur stream.DeadLetters) error {
	batcher, _ := cur.(stream.DeadLetterBatcher)
	r.window = 1
	if batcher != nil && !r.dryRun {
		r.window = replayWindow
	}
	r.settled = make(chan *flight, r.window)
	r.lanes = map[string]*flight{}
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(interruptGrace, cancelSends) })
	defer stopGrace()
	r.sendCtx = sendCtx
	err := r.loop(ctx, cur, batcher)
	// What is in flight settles (a send honours sendCtx: after an
	// interrupt, within interruptGrace), and what was confirmed is
	// removed, also after an interrupt: a copy that is there and a dead
	// letter left would be replayed twice.
	for r.inflight > 0 {
		r.settle(<-r.settled)
	}
	rctx, cancel := r.removeCtx(ctx, ctx)
	defer cancel()
	if rerr := r.remove(rctx, cur, batcher); err == nil {
		err = rerr
	}
	if err == nil {
		err = r.sendErr
	}
	if err != nil && r.sendErr != nil && r.window > 1 {
		err = fmt.Errorf("%w (of the copies in flight with it, those the broker confirmed were removed; %d dead letter%s whose copy failed, or was not sent, stay)", err, r.failedN, plural(r.failedN))
	}
	return err
}

// loop reads and sends until the end, --limit, or an error: a batch at a
// time (one dead letter where the cursor does not batch, or paced), whose
// copies are sent at once, and whose dead letters are removed once all
// copies settled. It reads only holding no dead letter: a claiming
// cursor's read may wait, up to a lease, for dead letters another replay
// or purge holds, which may wait for those this one holds.
func (r *replayer) loop(ctx context.Context, cur stream.DeadLetters, batcher stream.DeadLetterBatcher) error {
	for {
		room := r.window
		if r.limit > 0 {
			room = min(room, r.limit-r.replayed)
			if room <= 0 {
				r.atLimit = true
				return nil
			}
		}
		if r.tick != nil {
			room = 1 // read right before its send, paced
		}
		var ds []stream.DeadLetter
		var err error
		if batcher != nil && room > 1 {
			ds, err = batcher.NextBatch(ctx, room)
		} else {
			var d stream.DeadLetter
			if d, err = cur.Next(ctx); err == nil {
				ds = []stream.DeadLetter{d}
			}
		}
		if err == io.EOF {
			r.elsewhere = cur.HeldElsewhere()
			return nil
		}
		if err != nil {
			return err
		}
		read := time.Now()
		r.read += len(ds)
		for _, d := range ds {
			if err := r.one(ctx, cur, d, read); err != nil {
				return err
			}
		}
		for r.inflight > 0 {
			r.settle(<-r.settled)
		}
		// After an interrupt, the dead letters of the copies just
		// confirmed are removed all the same (with the interrupted ctx
		// the removal failed, and each was replayed again by the next
		// replay: a batch of duplicates for a Ctrl-C), with a ctx of
		// their own: sendCtx ends with the grace, which may cut off the
		// commit of copies confirmed just before it.
		rctx, cancel := r.removeCtx(ctx, r.sendCtx)
		err = r.remove(rctx, cur, batcher)
		cancel()
		if err != nil {
			return err
		}
		if r.sendErr != nil {
			return nil // run returns it
		}
	}
}

// removeCtx is what removing the dead letters of confirmed copies
// honours: live, ctx as it is; once ctx ended (an interrupt), a ctx of
// its own for removeGrace, so that a removal is never cut off before its
// commit is answered (a dead letter left behind its confirmed copy is
// replayed again).
func (r *replayer) removeCtx(ctx, live context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return live, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), removeGrace)
}

// removeGrace bounds the removal of the dead letters whose copies were
// confirmed, after an interrupt.
const removeGrace = 10 * time.Second

// one passes over d, or sends its copy.
func (r *replayer) one(ctx context.Context, cur stream.DeadLetters, d stream.DeadLetter, read time.Time) error {
	if ok, noTime := r.match(d); !ok {
		r.skipped++
		if noTime {
			r.untimed++
		}
		// Given back at once: a replay that wants it must not wait for
		// this one to exit.
		return cur.Release(ctx, d)
	}
	if n := stream.ReplayCount(d.Headers); n >= r.maxReplays {
		r.looped++
		r.noteCapped("skipped for --max-replays", "note: dead letter %s skipped: replayed %d time%s already (--max-replays %d)\n", d.ID, n, plural(n), r.maxReplays)
		return cur.Release(ctx, d)
	}
	if headersOnly(d) {
		r.payloadless++
		r.noteCapped("skipped as headers-only", "note: dead letter %s skipped: its payload (%s bytes) was dropped to fit the dead-letter queue's limit, so its copy would not be the message; its x-original-* headers locate the original\n",
			d.ID, d.Headers[stream.HeaderPayloadSize])
		return cur.Release(ctx, d)
	}
	if r.dryRun {
		r.noteKeyless(d)
		r.dry(d)
		r.replayed++
		return nil
	}
	if r.tick != nil {
		select {
		case <-r.tick:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p, bound, err := r.producer(ctx, r.dest)
	if err != nil {
		return err
	}
	// The wait for the rate (or the bind) may have outlasted the claim:
	// a dead letter another replay or purge took meanwhile is its to
	// send. A claim lasts a lease from when it was taken (renewed every
	// third of it; on Kafka a rebalance waits a lease for the member), so
	// one read less than a tenth of a lease ago is surely still held:
	// confirming it would be a round trip for nothing.
	if bound || time.Since(read) > r.lease/10 {
		if err := cur.Hold(ctx, d); errors.Is(err, stream.ErrClaimLost) {
			r.lost++
			r.noteCapped("taken over by another replay or purge", "note: dead letter %s not replayed: %v\n", d.ID, err)
			return cur.Release(ctx, d)
		} else if err != nil {
			return err
		}
	}
	r.noteKeyless(d)
	r.send(r.sendCtx, p, d)
	return nil
}

// maxNotes is how many notes of one kind about single dead letters
// (skipped for --max-replays, headers-only, without their key, taken
// over) a replay or purge prints: the first ones name dead letters to look
// at with show; thousands of the same line bury what matters (an error),
// and the summary counts them all.
const maxNotes = 10

// noteCapped is note for a note of a kind that may repeat for every dead
// letter: the first maxNotes of the kind, then one line saying that the
// rest are not listed.
func (r *replayer) noteCapped(kind, format string, args ...any) {
	if r.noted == nil {
		r.noted = map[string]int{}
	}
	n := r.noted[kind]
	r.noted[kind]++
	switch {
	case n < maxNotes:
		r.note(format, args...)
	case n == maxNotes:
		r.note("note: more dead letters %s are not listed; the summary counts them\n", kind)
	}
}

// noteKeyless counts d and says so when it is about to be replayed (or,
// --dry-run, would be) without the key it lost to the dead-letter queue's
// limit: called once d is sure to be sent, not before a claim lost
// (Hold) passes it over.
func (r *replayer) noteKeyless(d stream.DeadLetter) {
	size, lost := d.Headers[stream.HeaderKeySize]
	if !lost || len(d.Key) > 0 {
		return
	}
	// The message itself is whole: it is replayed, said to have lost
	// what routed it (the partition its key chose, its order among the
	// key's other messages).
	r.keyless++
	verb := "replayed"
	if r.dryRun {
		verb = "would be replayed"
	}
	r.noteCapped(verb+" without their key", "note: dead letter %s %s without its key: the key (%s bytes) was dropped to fit the dead-letter queue's limit, so its copy may go to another partition than the key's other messages\n",
		d.ID, verb, size)
}

// send sends d's copy from a goroutine of its own, after the copy of the
// dead letter before it of its lane settled (and not at all if that one
// failed: its copy would come before the earlier one's).
func (r *replayer) send(ctx context.Context, p stream.Producer, d stream.DeadLetter) {
	f := &flight{d: d, dest: r.dest, lane: laneOf(r.dest, d), done: make(chan struct{})}
	var prev *flight
	if f.lane != "" {
		prev = r.lanes[f.lane]
		r.lanes[f.lane] = f
	}
	r.flights = append(r.flights, f)
	r.inflight++
	env := stream.ReplayEnvelope(d)
	if r.group != "" {
		env.Headers[stream.HeaderReplayGroup] = r.group // ReplayHeaders' map, the copy's own
	}
	go func() {
		if prev != nil {
			<-prev.done
			if prev.err != nil {
				f.err = fmt.Errorf("not sent after dead letter %s of the same key, whose copy failed", prev.d.ID)
			}
		}
		if f.err == nil {
			f.err = p.Send(ctx, env)
		}
		close(f.done)
		r.settled <- f
	}()
}

func (r *replayer) settle(f *flight) {
	r.inflight--
	if r.lanes[f.lane] == f {
		delete(r.lanes, f.lane)
	}
	if f.err != nil {
		f.state = 2
		r.failedN++
		if r.sendErr == nil {
			r.sendErr = fmt.Errorf("replay dead letter %s to %s: %w", f.d.ID, f.dest, f.err)
		}
		return
	}
	f.state = 1
	r.confirmed = append(r.confirmed, f)
}

// remove removes the dead letters whose copies were confirmed, in the
// order they were read.
func (r *replayer) remove(ctx context.Context, cur stream.DeadLetters, batcher stream.DeadLetterBatcher) error {
	if len(r.confirmed) == 0 {
		return nil
	}
	var ds []stream.DeadLetter
	keep := r.flights[:0]
	for _, f := range r.flights {
		switch f.state {
		case 0:
			keep = append(keep, f)
		case 1:
			ds = append(ds, f.d)
		}
	}
	r.flights = keep
	r.confirmed = r.confirmed[:0]
	var errs []error
	if batcher != nil && len(ds) > 1 {
		errs = batcher.RemoveBatch(ctx, ds)
	} else {
		for i, d := range ds {
			if err := cur.Remove(ctx, d); err != nil {
				if errs == nil {
					errs = make([]error, len(ds))
				}
				errs[i] = err
			}
		}
	}
	var first error
	for i, d := range ds {
		var err error
		if errs != nil {
			err = errs[i]
		}
		switch {
		case err == nil:
			r.replayed++
		case first != nil:
		case errors.Is(err, stream.ErrClaimLost):
			first = fmt.Errorf("dead letter %s was replayed, but another replay or purge took it over before it was removed (it may replay it too): %w", d.ID, err)
		default:
			first = fmt.Errorf("dead letter %s was replayed but not removed (the next replay replays it again): %w", d.ID, err)
		}
	}
	r.progress(r.replayed)
	return first
}
