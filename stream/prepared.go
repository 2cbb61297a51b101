package stream

import (
	"context"
	"fmt"
	"strconv"

	"go.opentelemetry.io/otel/trace"
)

// Encode returns the [Envelope] that [Bridge.Send] would hand the binder
// for name and payload, without sending it: the payload encoded by the
// converter of the binding's content type ([]byte and string as they are),
// the headers of a [Message] or [Envelope] (copied), the key (Envelope.Key:
// the Key of a Message or Envelope, or a Message's kafka_messageKey header;
// else none, also for a partitioned binding, whose partition key is not
// the message key), and for a partitioned binding the selected partition
// (header [HeaderPartition]), computed from payload exactly as Send
// computes them. The binding's content-type header is not added here:
// [Bridge.SendEncoded] adds it as Send does.
//
// Encode is for sending later what is decided now — a transactional outbox
// stores the envelope with the caller's database transaction and sends it
// once committed. It does no I/O, binds nothing, and works as soon as
// [NewApp] returned. It fails for an input binding (which Send sends to
// its destination), a name that stream.dynamic-destinations does not
// allow, an empty one or one with leading or trailing white space, a
// payload the converter cannot encode, and a partitioned binding whose key
// cannot be computed.
func (br *Bridge) Encode(name string, payload any) (Envelope, error) {
	a := br.app
	var (
		cfg  BindingConfig
		part *partitioner
	)
	if b := a.Binding(name); b != nil {
		if b.input {
			return Envelope{}, fmt.Errorf("bridge: %s is an input binding", name)
		}
		cfg, part = b.cfg, b.part
	} else {
		if !a.cfg.configuredBinding(name) {
			if err := checkDestinationName(name); err != nil {
				return Envelope{}, err
			}
		}
		if allow := a.cfg.DynamicDestinations; len(allow) > 0 && !containsFold(allow, name) {
			return Envelope{}, fmt.Errorf("bridge: %q is neither an output binding nor listed in stream.dynamic-destinations", name)
		}
		cfg = a.cfg.Binding(name)
		v := validator{cfg: a.cfg}
		for _, e := range cfg.Validate("stream.bindings." + name) {
			v.addErr(e)
		}
		if err := v.errs.Err(); err != nil {
			return Envelope{}, fmt.Errorf("bridge: destination %s: %w", name, err)
		}
		var err error
		if part, err = newPartitioner(cfg.Producer, cfg.ContentType, a.opts.extractors); err != nil {
			return Envelope{}, fmt.Errorf("bridge: destination %s: %w", name, err)
		}
		// A destination the bridge has bound selects as its sends do (its
		// producer may have reported more partitions: PartitionCounter).
		for _, db := range br.Bindings() {
			if db.name == name && db.part != nil {
				part = db.part
			}
		}
	}
	cx := convCtx{binding: name, converters: a.opts.converters, contentType: cfg.ContentType}
	data, hdr, err := encodeAny(&cx, payload)
	if err != nil {
		return Envelope{}, fmt.Errorf("bridge: %w", err)
	}
	env := Envelope{Payload: data, Headers: hdr.Clone()}
	if p, ok := EnvelopeOf(payload); ok {
		env.Payload = append([]byte(nil), data...)
		if len(p.Key) > 0 {
			env.Key = append([]byte(nil), p.Key...)
		}
	} else if _, ok := payload.([]byte); ok {
		env.Payload = append([]byte(nil), data...)
	} else if hc, ok := payload.(headerCarrier); ok { // a Message: its key, the key only
		withMessageKey(&env, hc.messageKey(), true)
	}
	if part != nil {
		// As Binding.prepareSend.
		n, err := part.place(env, func() any { return payload })
		if err != nil {
			return Envelope{}, Permanent(fmt.Errorf("bridge: binding %s: %w", name, err))
		}
		env.Headers = env.Headers.With(HeaderPartition, strconv.Itoa(n))
	} else {
		// As Binding.prepareSend: an output that is not partitioned does
		// not route by a copied scst_partition (env.Headers is a copy).
		delete(env.Headers, HeaderPartition)
	}
	env.keyOnly = false // stored and sent as it is (SendEncoded): partitioned here
	return env, nil
}

// SendEncoded sends env, made by [Bridge.Encode] (and perhaps stored and
// loaded since), to name as it is: it is neither encoded nor partitioned
// again, so the partition chosen by Encode stands. Everything else is as
// for [Bridge.Send]: the app must be running, a stopped binding refuses
// it, the binding's non-default content type is added as the contentType
// header when env has none, the send is traced and counted, and it returns
// once the binder confirmed the message. The binder may keep env's
// Payload, Headers and Key: the caller must not modify them afterwards.
// env's Received (a forwarded input's) is not sent, on any binder.
func (br *Bridge) SendEncoded(ctx context.Context, name string, env Envelope) error {
	a := br.app
	if err := br.running(name); err != nil {
		return err
	}
	if b := a.Binding(name); b != nil {
		if b.input {
			return fmt.Errorf("bridge: %s is an input binding", name)
		}
		return b.sendEncoded(ctx, env)
	}
	dp, err := br.dynamic(ctx, name)
	if err != nil {
		return err
	}
	defer dp.inUse.RUnlock()
	return dp.b.sendEncoded(ctx, env)
}

// sendEncoded is Binding.send without the partition selection (Encode made
// it when the value was at hand); keep the rest in step with Binding.send.
func (b *Binding) sendEncoded(ctx context.Context, env Envelope) (err error) {
	if b.tracing != nil {
		var span trace.Span
		ctx, span = b.tracing.startSend(ctx, b, &env)
		defer func() { endSpan(span, err) }()
	}
	if st := b.State(); st != StateStarted {
		return b.notStarted(st)
	}
	if b.cfg.Producer.HeaderMode == HeaderModeNone && stripsFor(b.producer) {
		env.Headers = stripHeaders(env.Headers)
	}
	// A forwarded input's Received (how this app received it) is never
	// sent: the in-process binder would deliver it as the next one's.
	env.Received = Received{}
	if err := b.producer.Send(ctx, env); err != nil {
		b.stats.errors.Add(1)
		return fmt.Errorf("binding %s: send to %s: %w", b.name, b.destination, err)
	}
	b.stats.sent.Add(1)
	return nil
}
