package rabbit

import (
	"context"
	"errors"
	"fmt"

	"github.com/streambind/streambind/stream"
)

var (
	_ stream.LagReporter = (*consumer)(nil)
	_ stream.LagReporter = consumers(nil)
)

// Lag reports the messages ready in the consumer's queue: those not yet
// delivered to any consumer of the queue (one that a consumer holds,
// delivered and not yet acknowledged — up to prefetch a channel — is in
// flight, not lag), as queue.declare-ok counts them. The queue is that of
// the named group (the partition's queue of a partitioned group, labelled
// with its instance-index), read whether or not the binding runs: the
// queue stays and fills while it is stopped; an anonymous consumer's is
// read while it runs (it exists only then). Topic is the queue's name.
// The read is a passive declaration of the queue on a channel of its own
// (a queue that is missing closes it), on the consuming connection, at
// most once every lagread.MaxAge (see [lagread]); none is made while the
// connection is down (an error: the binding's lag is left out). It
// implements [stream.LagReporter].
func (c *consumer) Lag(ctx context.Context) ([]stream.PartitionLag, error) {
	return c.lag.Lag(ctx, c.bd.ctx, c.readLag, c.log, "rabbit: reading the consumer lag (the queue's ready messages) failed")
}

// readLag reads the ready messages of the consumer's queue.
func (c *consumer) readLag(ctx context.Context) ([]stream.PartitionLag, error) {
	q := c.queue
	if q == "" {
		if q = c.runningQueue(); q == "" {
			return nil, nil // anonymous and stopped: no queue
		}
	}
	if err := c.bd.checkOpen(); err != nil {
		return nil, nil
	}
	conn, _, err := c.bd.sub.current()
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", q, err)
	}
	n, err := untilAnsweredValue(ctx, "read the depth of queue "+q, func() (int, error) {
		ch, err := conn.Channel()
		if err != nil {
			return 0, fmt.Errorf("open channel: %w", err)
		}
		defer ch.Close()
		info, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
		return info.Messages, err
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", q, err)
	}
	part := 0
	if c.partitioned() {
		part = c.spec.Consumer.InstanceIndex
	}
	return []stream.PartitionLag{{Topic: q, Partition: part, Lag: int64(n)}}, nil
}

// Lag joins the destinations' consumers' Lag, and their errors.
func (cs consumers) Lag(ctx context.Context) ([]stream.PartitionLag, error) {
	var out []stream.PartitionLag
	var errs []error
	for _, c := range cs {
		l, err := c.Lag(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, l...)
	}
	return out, errors.Join(errs...)
}
