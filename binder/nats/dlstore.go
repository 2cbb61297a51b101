package nats

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/stream"
)

// OpenDeadLetters implements [stream.DeadLetterStore] over the dead-letter
// subject of spec (dlq-name, default error.<destination>.<group>) in the
// stream that captures it. The cursor gets the messages of that subject
// one by one, from the stream's first sequence to its last at open
// (reading changes nothing: no consumer is made); Remove deletes one from
// the stream. A dead letter's ID is its stream sequence, its Time the
// time the stream stored it.
func (bd *Binder) OpenDeadLetters(ctx context.Context, spec stream.ConsumerSpec, _ stream.DeadLetterOpen) (stream.DeadLetters, error) {
	cs, err := parseConsumer(spec.Binding, spec.Extension)
	if err != nil {
		return nil, err
	}
	subject := stream.ErrorDestinationSource(spec, cs.dlqName).Destination
	c, err := bd.connect(ctx)
	if err != nil {
		return nil, err
	}
	s, err := c.js.Stream(ctx, StreamName(subject))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		name, nerr := c.js.StreamNameBySubject(ctx, subject)
		if nerr != nil || name == "" {
			return nil, fmt.Errorf("nats: no stream captures %s: %w", subject, stream.ErrNoDeadLetters)
		}
		s, err = c.js.Stream(ctx, name)
	}
	if err != nil {
		return nil, bd.apiErr(err, "stream of %s", subject)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, bd.apiErr(err, "stream of %s", subject)
	}
	return &natsDeadLetters{s: s, subject: subject, next: info.State.FirstSeq, last: info.State.LastSeq}, nil
}

type natsDeadLetters struct {
	s          jetstream.Stream
	subject    string
	next, last uint64
}

func (c *natsDeadLetters) Next(ctx context.Context) (stream.DeadLetter, error) {
	if c.last == 0 || c.next > c.last {
		return stream.DeadLetter{}, io.EOF
	}
	// The first message of the subject at or after next.
	m, err := c.s.GetMsg(ctx, c.next, jetstream.WithGetMsgSubject(c.subject))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		c.next = c.last + 1
		return stream.DeadLetter{}, io.EOF
	}
	if err != nil {
		return stream.DeadLetter{}, fmt.Errorf("nats: read %s at %d: %w", c.subject, c.next, err)
	}
	if m.Sequence > c.last {
		c.next = c.last + 1
		return stream.DeadLetter{}, io.EOF // arrived after the cursor was opened
	}
	c.next = m.Sequence + 1
	return stream.DeadLetter{ID: strconv.FormatUint(m.Sequence, 10), Envelope: fromMsg(m.Header, m.Data), Time: m.Time}, nil
}

func (c *natsDeadLetters) Remove(ctx context.Context, d stream.DeadLetter) error {
	seq, err := strconv.ParseUint(d.ID, 10, 64)
	if err != nil {
		return fmt.Errorf("nats: dead letter id %q: %w", d.ID, err)
	}
	if err := c.s.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("nats: remove dead letter %s from %s: %w", d.ID, c.subject, err)
	}
	return nil
}

func (c *natsDeadLetters) Close(context.Context) error { return nil }
