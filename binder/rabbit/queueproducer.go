package rabbit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/streambind/streambind/stream"
)

// BindQueueProducer returns a producer that publishes to the queue named
// queue only: through the default exchange (""), with the queue's name as
// routing key, as SCSt's documented re-route of a dead letter to its
// original queue does (rabbitTemplate.send(ORIGINAL_QUEUE, failed)). A
// message sent to a destination's exchange goes to every group's queue
// bound to it; this one goes to one group's. It declares nothing (no
// exchange, no queue): the publish is mandatory, so a queue that does not
// exist makes Send fail with [ErrUnroutable], and confirmed, as a
// producer binding's. spec names the binding in logs and errors
// (spec.Destination, when empty, is the queue); its Extension,
// Producer.RequiredGroups and partitioning must be unset: the routing is
// the queue's name. streambind dlq replay --to-queue uses it.
func (b *Binder) BindQueueProducer(ctx context.Context, spec stream.ProducerSpec, queue string) (stream.Producer, error) {
	if spec.Destination == "" {
		spec.Destination = queue
	}
	fail := func(err error) (stream.Producer, error) {
		return nil, fmt.Errorf("rabbit: bind producer %s (queue %q): %w", spec.Binding, queue, err)
	}
	switch {
	case queue == "":
		return fail(errors.New("no queue"))
	case len(queue) > maxShortstr:
		return fail(fmt.Errorf("queue name %.60q… is %d bytes; AMQP allows at most %d", queue, len(queue), maxShortstr))
	case len(spec.Extension) > 0, len(spec.Producer.RequiredGroups) > 0, spec.Producer.IsPartitioned():
		return fail(errors.New("a queue producer takes no rabbit properties, required-groups or partitioning: it routes by the queue's name"))
	}
	if err := b.checkOpen(); err != nil {
		return fail(err)
	}
	opts := producerOptions{queueOptions: defaultQueueOptions(), routingKey: queue, mandatory: true}
	opts.declareExchange = false
	// Nothing to declare: the connection is made (or checked), so that an
	// unreachable broker is reported here.
	var t topology
	if err := b.declareForBind(ctx, b.pubMgr, t); err != nil {
		return fail(err)
	}
	log := spec.Logger
	if log == nil {
		log = b.log.With("binding", spec.Binding, "queue", queue)
	}
	p := &producer{bd: b, spec: spec, exchange: "", opts: opts, topo: t, log: log, born: time.Now()}
	log.Debug("rabbit: queue producer bound (default exchange)", "binding", spec.Binding, "queue", queue)
	if err := b.addProducer(p); err != nil {
		return fail(err)
	}
	return p, nil
}
