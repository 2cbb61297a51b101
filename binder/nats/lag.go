package nats

import (
	"context"
	"errors"

	natsgo "github.com/nats-io/nats.go"

	"github.com/streambind/streambind/stream"
)

var _ stream.LagReporter = (*consumer)(nil)

// Lag reports the NumPending of the group's durable JetStream consumer:
// the stream's messages on its subjects (its partitions' subjects when
// partitioned) not yet delivered to any member of the group. A message
// delivered and not yet acknowledged (NumAckPending, up to
// max-ack-pending) is in flight, not lag. Topic is the stream's name;
// Partition is 0, or the instance-index of a partitioned group (the
// durable's partition; a durable that reads several partitions, with
// instance-count below partition-count, reports their sum under it). It
// is read whether or not the binding runs (the durable stays and falls
// behind while it is stopped) with one consumer info request, at most
// once every lagread.MaxAge (see [lagread]), and not while the
// connection is down (an error: the binding's lag is left out). An
// anonymous consumer's ephemeral consumer reports nothing. It implements
// [stream.LagReporter].
func (c *consumer) Lag(ctx context.Context) ([]stream.PartitionLag, error) {
	if c.group == "" {
		return nil, nil
	}
	return c.lag.Lag(ctx, c.bd.lagCtx, c.readLag, c.log, "nats: reading the consumer lag (the durable consumer's pending messages) failed")
}

// readLag reads the durable's NumPending.
func (c *consumer) readLag(ctx context.Context) ([]stream.PartitionLag, error) {
	if c.bd.checkOpen() != nil {
		return nil, nil
	}
	if st := c.conn.state.load(); st.status != natsgo.CONNECTED {
		return nil, c.bd.wrap(errors.New("not connected"), "consumer %s on stream %s", c.cfg.Durable, c.ref.name)
	}
	jc, err := c.conn.js.Consumer(ctx, c.ref.name, c.cfg.Durable)
	if err != nil {
		return nil, c.bd.wrap(err, "consumer %s on stream %s", c.cfg.Durable, c.ref.name)
	}
	part := 0
	if c.spec.Consumer.Partitioned {
		part = c.spec.Consumer.InstanceIndex
	}
	return []stream.PartitionLag{{Topic: c.ref.name, Partition: part, Lag: int64(jc.CachedInfo().NumPending)}}, nil
}
