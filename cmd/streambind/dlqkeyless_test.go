package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// claimLostCursor returns its dead letters once each and has lost its
// claim on every one of them (Hold fails with stream.ErrClaimLost).
type claimLostCursor struct {
	ds       []stream.DeadLetter
	released int
}

func (c *claimLostCursor) Next(context.Context) (stream.DeadLetter, error) {
	if len(c.ds) == 0 {
		return stream.DeadLetter{}, io.EOF
	}
	d := c.ds[0]
	c.ds = c.ds[1:]
	return d, nil
}

func (c *claimLostCursor) Remove(context.Context, stream.DeadLetter) error {
	return fmt.Errorf("claimLostCursor: nothing is removed")
}

func (c *claimLostCursor) Release(context.Context, stream.DeadLetter) error {
	c.released++
	return nil
}

func (c *claimLostCursor) Hold(_ context.Context, d stream.DeadLetter) error {
	return fmt.Errorf("dead letter %s: %w", d.ID, stream.ErrClaimLost)
}

func (c *claimLostCursor) HeldElsewhere() int          { return 0 }
func (c *claimLostCursor) Close(context.Context) error { return nil }

// TestDLQReplayKeylessClaimLost: a dead letter that lost its key to the
// dead-letter queue's limit (x-streambind-key-size), whose claim is gone
// by the time its copy would be sent, is not replayed: it is counted as
// lost, not among the copies "without the key", and no note says it was
// replayed (the count and note came before the claim was checked).
func TestDLQReplayKeylessClaimLost(t *testing.T) {
	cur := &claimLostCursor{ds: []stream.DeadLetter{{
		ID:       "1",
		Envelope: stream.Envelope{Payload: []byte("p"), Headers: stream.Headers{stream.HeaderKeySize: "122880"}},
	}}}
	var notes strings.Builder
	rp := &replayer{
		dest: "orders", maxReplays: 3, lease: time.Minute,
		match: func(stream.DeadLetter) (bool, bool) { return true, false },
		producer: func(context.Context, string) (stream.Producer, bool, error) {
			return nil, true, nil // bound: the claim is checked
		},
		note:     func(format string, args ...any) { fmt.Fprintf(&notes, format, args...) },
		dry:      func(stream.DeadLetter) {},
		progress: func(int) {},
	}
	if err := rp.run(context.Background(), cur); err != nil {
		t.Fatalf("run: %v", err)
	}
	if rp.replayed != 0 || rp.lost != 1 || cur.released != 1 {
		t.Errorf("replayed %d, lost %d, released %d; want 0, 1, 1", rp.replayed, rp.lost, cur.released)
	}
	if rp.keyless != 0 || strings.Contains(notes.String(), "without its key") {
		t.Errorf("keyless %d (want 0); notes:\n%s", rp.keyless, notes.String())
	}
}
