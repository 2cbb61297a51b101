package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	metaapi "github.com/segmentio/kafka-go/protocol/metadata"

	"github.com/streambind/streambind/binder/internal/conf"
	"github.com/streambind/streambind/binder/internal/logtext"
	"github.com/streambind/streambind/binder/internal/secrets"
	"github.com/streambind/streambind/stream"
)

// Type is the binder type name the Kafka binder is registered under.
const Type = "kafka"

// Binder is the Kafka binder: a [stream.Binder] on a Kafka cluster, built
// on github.com/segmentio/kafka-go. Create it with [New].
type Binder struct {
	name      string
	st        settings
	log       *slog.Logger
	dialer    *kafkago.Dialer
	transport *binderTransport
	conns     *transportConns // the transport's connections (Close ends them)
	// duringTransportClose, when set (tests), runs between the steps that
	// end the transport in Close, where a request racing Close can land.
	duringTransportClose func()
	admin                *kafkago.Client

	provMu sync.Mutex // serialises provisioning

	// The health probe (see health.go).
	probeOnce sync.Once
	probeStop chan struct{}
	probeDone chan struct{}
	probed    chan struct{} // closed with the first answer
	probeMu   sync.Mutex
	probeErr  error
	// missing are the producers' topics found missing while
	// auto-create-topics is off (see producer.Health).
	missing map[string]bool

	// limits caches the max.message.bytes of dead-letter topics;
	// unreadable, until when a topic's could not be read (see
	// maxMessageBytes).
	limMu      sync.Mutex
	limits     map[string]int
	unreadable map[string]time.Time

	// retryListing is the cluster's retry topics as last listed (see
	// listRetryTopics); retryListLock (capacity 1) is held while listing.
	retryListLock chan struct{}
	retryListing  retryListing

	mu        sync.Mutex
	closed    bool
	closeDone chan struct{} // made by the first Close, closed when it returned
	closeErr  error         // that Close's error, set before closeDone is closed
	producers map[*producer]struct{}
	consumers map[*consumer]struct{}
}

var (
	_ stream.Binder        = (*Binder)(nil)
	_ stream.SpecValidator = (*Binder)(nil)
	_ stream.HealthChecker = (*Binder)(nil)
	_ stream.BinderFactory = New

	_ stream.BindingHealthChecker = (*producer)(nil)
	_ stream.DeadLetterReporter   = (*consumer)(nil)
)

// New is the [stream.BinderFactory] of binder type "kafka". It decodes the
// settings strictly (see the package doc) and does no network I/O: the
// first binding connects.
func New(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
	st, err := parseSettings(s)
	if err != nil {
		return nil, err
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, w := range st.warnings {
		log.Warn("kafka: " + w)
	}
	bd := &Binder{
		name:      s.Name,
		st:        st,
		log:       log,
		producers: make(map[*producer]struct{}),
		consumers: make(map[*consumer]struct{}),

		retryListLock: make(chan struct{}, 1),
	}
	bd.conns = newTransportConns(bd.name, st.dialTimeout)
	// The consumers' group and fetch connections (and the dead-letter
	// cursors') are tracked as the transport's are: Close ends those a
	// consumer left behind (leaving the group from a stalled broker
	// "continues in the background" once Close's ctx ended).
	bd.dialer = &kafkago.Dialer{
		ClientID:      st.clientID,
		Timeout:       st.dialTimeout,
		DialFunc:      bd.conns.dial,
		TLS:           st.tls,
		SASLMechanism: st.sasl,
	}
	bd.transport = &binderTransport{conns: bd.conns, Transport: &kafkago.Transport{
		Context:     bd.conns.ctx,
		Dial:        bd.conns.dial,
		DialTimeout: st.dialTimeout,
		IdleTimeout: 30 * time.Second,
		MetadataTTL: 2 * time.Second,
		ClientID:    st.clientID,
		TLS:         st.tls,
		SASL:        st.sasl,
	}}
	bd.admin = &kafkago.Client{Addr: kafkago.TCP(st.brokers...), Transport: bd.transport, Timeout: st.dialTimeout}
	return bd, nil
}

// ValidateProducer checks the Kafka properties of a producer binding
// (stream.kafka.bindings.<binding>.producer).
func (bd *Binder) ValidateProducer(spec stream.ProducerSpec) error {
	if _, err := parseProducer(&bd.st, spec.Binding, spec.Extension); err != nil {
		return err
	}
	return checkTopic("stream.bindings."+spec.Binding+".destination", "destination", spec.Destination)
}

// ValidateConsumer checks the Kafka properties of a consumer binding
// (stream.kafka.bindings.<binding>.consumer).
func (bd *Binder) ValidateConsumer(spec stream.ConsumerSpec) error {
	cs, err := decodeConsumer(&bd.st, spec.Binding, spec.Extension)
	if err != nil {
		return err
	}
	if err := checkOrdering(spec, cs); err != nil { // keyorder.go
		return err
	}
	if err := conf.AnonymousDLQ(Type, spec); err != nil {
		return err
	}
	// Not checkFixed (BindConsumer's): the instance-index and
	// instance-count it checks are the core's, which reports them out of
	// range (stream/config.go) wherever ValidateConsumer is called (the
	// app, streambind lint); the error was given twice.
	return checkConsumerTopics(spec, cs)
}

// wrap adds context to err and cleans its text (see clean).
func (bd *Binder) wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if bd.st.sasl != nil && errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w (the broker closed the connection: check the SASL mechanism and credentials)", err)
	}
	return bd.clean(fmt.Errorf(format+": %w", append(args, err)...))
}

// clean returns err with the binder's secrets removed from its text, and
// the context that would repeat or says nothing (see tidyText);
// errors.Is and As still see the original chain.
func (bd *Binder) clean(err error) error {
	if err == nil {
		return nil
	}
	err = secrets.Redact(err, bd.st.secrets)
	msg := err.Error()
	if t := tidyText(msg); t != msg {
		return &redactedError{msg: t, err: err}
	}
	return err
}

// tidyText removes from an error text kafka-go's call-site prefixes
// ("kafka.(*Client).Metadata: "), which tell a user nothing, and every
// "kafka: " after the first (one of the binder's errors wrapped by
// another: the context "kafka" is given once).
func tidyText(s string) string {
	const caller, prefix = "kafka.(*", "kafka: "
	for from := 0; ; {
		i := strings.Index(s[from:], caller)
		if i < 0 {
			break
		}
		i += from
		j := strings.Index(s[i:], ": ")
		if j < 0 || strings.ContainsRune(s[i:i+j], ' ') {
			from = i + len(caller)
			continue
		}
		s = s[:i] + s[i+j+2:]
		from = i
	}
	if i := strings.Index(s, prefix); i >= 0 {
		i += len(prefix)
		s = s[:i] + strings.ReplaceAll(s[i:], prefix, "")
	}
	return s
}

// bindErr is wrap for the errors of BindProducer and BindConsumer: those
// that mean that no broker could be reached are wrapped with
// [stream.Unavailable], so that the app retries the bind for up to the
// binder's startup-timeout; the broker's answers (authorisation, invalid
// settings, a missing topic) are not.
//
// An error that may come of the client's TLS or SASL settings not matching
// the broker's listener is explained, and not retried, when the broker
// shows the mismatch (see securityMismatch).
func (bd *Binder) bindErr(ctx context.Context, err error, format string, args ...any) error {
	if m := bd.securityMismatch(ctx, err); m != nil {
		return bd.clean(fmt.Errorf(format+": %w", append(args, m)...))
	}
	werr := bd.wrap(err, format, args...)
	if bd.unreachable(err) {
		return stream.Unavailable(werr)
	}
	return werr
}

// logErr is err's text, cleaned (see clean), for log lines, cut to
// logtext.Max bytes (a handler's error can carry a whole payload).
func (bd *Binder) logErr(err error) string {
	if err == nil {
		return ""
	}
	return logtext.Bound(bd.clean(err).Error())
}

// BindProducer provisions spec.Destination (see the package doc) and
// returns a producer binding.
func (bd *Binder) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	ps, err := parseProducer(&bd.st, spec.Binding, spec.Extension)
	if err != nil {
		return nil, fmt.Errorf("kafka: bind producer %s: %w", spec.Binding, err)
	}
	if spec.Destination == "" {
		return nil, fmt.Errorf("kafka: bind producer %s: no destination", spec.Binding)
	}
	if err := bd.checkOpen(); err != nil {
		return nil, fmt.Errorf("kafka: bind producer %s: %w", spec.Binding, err)
	}
	// partition-count sizes the topic whether or not the producer
	// partitions by a key (SCSt: a hint for the topic's partitions).
	need := max(spec.Producer.PartitionCount, 1)
	parts, err := bd.provision(ctx, spec.Destination, need, ps.replicationFactor, ps.topicConfigs, true)
	if err != nil {
		return nil, bd.bindErr(ctx, err, "kafka: bind producer %s", spec.Binding)
	}
	bd.warnMinPartitions(spec.Binding, spec.Destination, parts)
	p := bd.newProducer(spec, ps, need)
	p.parts = max(parts, need)
	bd.mu.Lock()
	defer bd.mu.Unlock()
	if bd.closed {
		p.shutdown(context.Background())
		return nil, fmt.Errorf("kafka: bind producer %s: binder %w", spec.Binding, stream.ErrClosed)
	}
	bd.producers[p] = struct{}{}
	bd.startProbe()
	return p, nil
}

// BindConsumer provisions the destination(s) and, with dlq on a named
// group, the dead-letter topic, and returns a stopped consumer binding.
func (bd *Binder) BindConsumer(ctx context.Context, spec stream.ConsumerSpec) (stream.Consumer, error) {
	fail := func(err error) (stream.Consumer, error) {
		return nil, bd.wrap(err, "kafka: bind consumer %s", spec.Binding)
	}
	cs, err := decodeConsumer(&bd.st, spec.Binding, spec.Extension)
	if err != nil {
		return fail(err)
	}
	var topics []string
	for _, d := range strings.Split(spec.Destination, ",") {
		if d = strings.TrimSpace(d); d != "" {
			topics = append(topics, d)
		}
	}
	switch {
	case len(topics) == 0:
		return fail(errors.New("no destination"))
	case spec.Consumer.BatchMode && spec.BatchHandler == nil:
		return fail(errors.New("batch mode without a batch handler"))
	case !spec.Consumer.BatchMode && spec.Handler == nil:
		return fail(errors.New("no handler"))
	}
	if err := checkOrdering(spec, cs); err != nil { // keyorder.go
		return fail(err)
	}
	if err := conf.AnonymousDLQ(Type, spec); err != nil {
		return fail(err)
	}
	if err := checkFixed(spec, cs); err != nil { // fixed.go
		return fail(err)
	}
	if cs.fixed && spec.Group == "" {
		// As in SCSt, whose anonymous consumers subscribe through the
		// group protocol whatever auto-rebalance-enabled says.
		bd.log.Warn("kafka: auto-rebalance-enabled: false is ignored for an anonymous consumer (no group): it reads every partition, as in SCSt; set a group for a fixed assignment",
			"binding", spec.Binding)
		cs.fixed = false
	}
	if err := bd.checkOpen(); err != nil {
		return fail(err)
	}
	need := max(spec.Consumer.Concurrency, 1) * max(spec.Consumer.InstanceCount, 1)
	dlqParts := map[string]int{}
	for _, t := range topics {
		n, err := bd.provision(ctx, t, need, cs.replicationFactor, cs.topicConfigs, false)
		if err != nil {
			return nil, bd.bindErr(ctx, err, "kafka: bind consumer %s", spec.Binding)
		}
		bd.warnMinPartitions(spec.Binding, t, n)
		// Under ordering: key an instance's handler slots share its
		// partitions' messages: only instances without a partition idle.
		switch inst := max(spec.Consumer.InstanceCount, 1); {
		case !cs.orderByKey && n < need:
			bd.log.Info("kafka: topic has fewer partitions than the binding's concurrency; some handler slots stay idle", "destination", t, "partitions", n, "wanted", need)
		case cs.orderByKey && n < inst:
			bd.log.Info("kafka: topic has fewer partitions than the binding's instance-count; some instances stay idle", "destination", t, "partitions", n, "instance-count", inst)
		}
		if cs.fixed {
			bd.warnFixed(spec, t, n) // fixed.go
		}
		dlqParts[t] = n
		if cs.dlqPartitions > 0 {
			dlqParts[t] = cs.dlqPartitions
		}
	}
	all, leftover, err := bd.provisionRetryTopics(ctx, spec, cs, topics, dlqParts) // retrytopics.go
	if err != nil {
		return nil, bd.bindErr(ctx, err, "kafka: bind consumer %s", spec.Binding)
	}
	c := bd.newConsumer(spec, cs, all)
	c.leftover = leftover
	if c.dlq {
		for _, t := range topics {
			if _, err := bd.provision(ctx, c.dlqTopic(t), dlqParts[t], cs.replicationFactor, cs.dlqProducer.topicConfigs, false); err != nil {
				return nil, bd.bindErr(ctx, fmt.Errorf("dead-letter topic: %w", err), "kafka: bind consumer %s", spec.Binding)
			}
		}
	}
	bd.mu.Lock()
	defer bd.mu.Unlock()
	if bd.closed {
		return fail(fmt.Errorf("binder %w", stream.ErrClosed))
	}
	bd.consumers[c] = struct{}{}
	bd.startProbe()
	return c, nil
}

func (bd *Binder) checkOpen() error {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	if bd.closed {
		return fmt.Errorf("binder %w", stream.ErrClosed)
	}
	return nil
}

// provision makes sure topic exists with at least need partitions: it
// creates it (with max(need, min-partition-count)) when auto-create-topics
// is on, adds partitions up to that count when auto-add-partitions is on,
// and otherwise fails for a missing topic, and — strict — for a producer
// whose need (partition-count) exceeds the topic's partitions (a consumer
// takes fewer: BindConsumer says so). As in SCSt's KafkaTopicProvisioner,
// min-partition-count is not a need of an existing topic without
// auto-add-partitions: an SCSt service with the same settings starts, so
// fewer partitions than it asks for is a WARN (warnMinPartitions), not an
// error. A topic it creates gets rf replicas (0: the binder's
// replication-factor) and the topic configurations configs (the binding's
// topic.properties); as in SCSt (without its auto-alter-topics, which is
// refused), an existing topic's configurations are left as they are. It
// returns the topic's partition count.
func (bd *Binder) provision(ctx context.Context, topic string, need, rf int, configs []kafkago.ConfigEntry, strict bool) (int, error) {
	if rf == 0 {
		rf = bd.st.replicationFactor
	}
	bd.provMu.Lock()
	defer bd.provMu.Unlock()
	want := max(need, bd.st.minPartitionCount)
	n, err := bd.partitions(ctx, topic)
	if err != nil && !errors.Is(err, kafkago.UnknownTopicOrPartition) {
		return 0, fmt.Errorf("topic %s: metadata: %w", topic, err)
	}
	if n < want {
		// The shared transport answers from a metadata cache (refreshed
		// every MetadataTTL): a topic created, or partitions added,
		// outside the binder since then look missing. Ask the cluster.
		if n, err = bd.freshPartitions(ctx, topic, n); err != nil {
			return 0, fmt.Errorf("topic %s: metadata: %w", topic, err)
		}
	}
	if n == 0 {
		if !bd.st.autoCreateTopics {
			return 0, fmt.Errorf("topic %s: %w: create it or enable %s", topic, errTopicMissing, bd.st.autoCreateKey)
		}
		res, err := bd.admin.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{
			Topic: topic, NumPartitions: want, ReplicationFactor: rf, ConfigEntries: configs,
		}}})
		if err != nil {
			return 0, fmt.Errorf("create topic %s: %w", topic, err)
		}
		if e := res.Errors[topic]; e != nil && !errors.Is(e, kafkago.TopicAlreadyExists) {
			return 0, fmt.Errorf("create topic %s: %w", topic, e)
		}
		attrs := []any{"destination", topic, "partitions", want, "replication-factor", rf}
		if len(configs) > 0 {
			cfg := make([]string, len(configs))
			for i, e := range configs {
				cfg[i] = e.ConfigName + "=" + e.ConfigValue
			}
			attrs = append(attrs, "config", strings.Join(cfg, ","))
		}
		bd.log.Info("kafka: created topic", attrs...)
		return bd.waitPartitions(ctx, topic, 1)
	}
	if n >= want {
		return n, nil
	}
	if bd.st.autoAddPartitions {
		res, err := bd.admin.CreatePartitions(ctx, &kafkago.CreatePartitionsRequest{Topics: []kafkago.TopicPartitionsConfig{{Name: topic, Count: int32(want)}}})
		if err == nil {
			err = res.Errors[topic]
		}
		if err != nil {
			return 0, fmt.Errorf("add partitions to topic %s (%d → %d): %w", topic, n, want, err)
		}
		bd.log.Info("kafka: added partitions", "destination", topic, "from", n, "to", want)
		return bd.waitPartitions(ctx, topic, want)
	}
	if strict && n < need {
		return 0, fmt.Errorf("topic %s has %d partitions, the binding needs %d: add partitions or enable %s", topic, n, need, bd.st.autoAddKey)
	}
	return n, nil
}

// warnMinPartitions logs a WARN when binding's topic has fewer partitions
// (n) than min-partition-count and auto-add-partitions is off: the binder
// leaves the topic as it is (SCSt does, silently), and a raised
// min-partition-count would otherwise change nothing without a word.
func (bd *Binder) warnMinPartitions(binding, topic string, n int) {
	if n == 0 || n >= bd.st.minPartitionCount || bd.st.autoAddPartitions {
		return
	}
	bd.log.Warn("kafka: topic has fewer partitions than min-partition-count; an existing topic gets more only with auto-add-partitions",
		"binding", binding, "destination", topic, "partitions", n, "min-partition-count", bd.st.minPartitionCount,
		"setting", bd.st.minPartKey, "enable", bd.st.autoAddKey)
}

// partitions returns the partition count of topic, 0 if it does not exist,
// as the shared transport's metadata cache knows it.
func (bd *Binder) partitions(ctx context.Context, topic string) (int, error) {
	res, err := bd.admin.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, err
	}
	return partitionsIn(res, topic)
}

// freshPartitions returns the partition count of topic as the cluster
// (not the cache) tells it, bounded by the dial timeout; cached is what
// the cache said. When the cluster knows more, it refreshes the cache too,
// so that the producer (which reads it) sees the topic at once.
func (bd *Binder) freshPartitions(ctx context.Context, topic string, cached int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, bd.st.dialTimeout)
	defer cancel()
	res, err := bd.freshMetadata(ctx, []string{topic}) // health.go
	if err != nil {
		return 0, err
	}
	n, err := partitionsIn(res, topic)
	if err != nil || n <= cached {
		return n, err
	}
	// kafka-go refreshes its cache only after creating topics or for a
	// metadata request allowing auto-creation of a topic it has not
	// cached; the cluster has just shown the topic, so the broker has
	// nothing to create. The refresh waits (bounded by ctx) until the
	// cache has the topic.
	if cached == 0 {
		req := &metaapi.Request{TopicNames: []string{topic}, AllowAutoTopicCreation: true}
		if _, err := bd.transport.RoundTrip(ctx, bd.admin.Addr, req); err != nil {
			bd.log.Debug("kafka: refreshing the metadata cache", "destination", topic, "error", bd.logErr(err))
		}
	}
	return n, nil
}

// partitionsIn returns the partition count of topic in res, 0 if it does
// not exist.
func partitionsIn(res *kafkago.MetadataResponse, topic string) (int, error) {
	for _, t := range res.Topics {
		if t.Name == topic {
			if t.Error != nil {
				if errors.Is(t.Error, kafkago.UnknownTopicOrPartition) {
					return 0, nil
				}
				return 0, t.Error
			}
			return len(t.Partitions), nil
		}
	}
	return 0, nil
}

// waitPartitions waits until the metadata shows topic with at least want
// partitions, bounded by ctx and the dial timeout.
func (bd *Binder) waitPartitions(ctx context.Context, topic string, want int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, bd.st.dialTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := bd.partitions(ctx, topic)
		if err == nil && n >= want {
			return n, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d partitions visible, want %d", n, want)
			}
			// The context's error too, so that errors.Is tells a
			// cancelled or timed-out bind (the caller's, or the dial
			// timeout's) from a refusal.
			if !errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("%w (%w)", err, ctx.Err())
			}
			return 0, fmt.Errorf("topic %s: waiting for metadata: %w", topic, err)
		case <-tick.C:
		}
	}
}

// Close stops the binder's consumers (committing what they processed) and
// flushes and closes its producers, bounded by ctx. It is idempotent (nil
// once closed): a Close while another is closing the binder waits for
// that one (bounded by its own ctx) and returns its error, so that
// whichever Close returns nil, the binder has released everything.
func (bd *Binder) Close(ctx context.Context) error {
	bd.mu.Lock()
	if bd.closed {
		done := bd.closeDone
		bd.mu.Unlock()
		select {
		case <-done:
			return nil // closed already (its error was the first Close's)
		default:
		}
		select {
		case <-done:
			return bd.closeErr
		case <-ctx.Done():
			return bd.wrap(ctx.Err(), "kafka: close binder %q: waiting for the Close in progress", bd.name)
		}
	}
	bd.closed = true
	bd.closeDone = make(chan struct{})
	bd.mu.Unlock()
	defer close(bd.closeDone)
	bd.closeErr = bd.close(ctx)
	return bd.closeErr
}

// close is Close's work, for the first Close.
func (bd *Binder) close(ctx context.Context) error {
	bd.mu.Lock()
	cs := make([]*consumer, 0, len(bd.consumers))
	for c := range bd.consumers {
		cs = append(cs, c)
	}
	ps := make([]*producer, 0, len(bd.producers))
	for p := range bd.producers {
		ps = append(ps, p)
	}
	bd.consumers, bd.producers = nil, nil
	bd.mu.Unlock()
	bd.stopProbe()

	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, c := range cs {
		wg.Go(func() {
			if err := c.close(ctx); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, p := range ps {
		if err := p.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	// stop first: it refuses new requests and dials, and interrupts the
	// requests in flight (a long-polling fetch kept kafka-go's connection
	// goroutine until the broker answered). Only then close the idle
	// connections: a request that came between the two the other way
	// round made a new pool whose idle connection stop cannot end (its
	// goroutine waits for a request, not on the socket), so it outlived
	// Close until IdleTimeout and wait failed.
	bd.conns.stop()
	if bd.duringTransportClose != nil {
		bd.duringTransportClose()
	}
	bd.transport.CloseIdleConnections()
	if err := bd.conns.wait(ctx); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return bd.wrap(errors.Join(errs...), "kafka: close binder %q", bd.name)
	}
	return nil
}

func (bd *Binder) forgetProducer(p *producer) {
	bd.mu.Lock()
	delete(bd.producers, p)
	bd.mu.Unlock()
}
