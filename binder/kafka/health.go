package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// Health reports whether the cluster answered the binder's last probe. A
// background probe (started with the first binding) asks the cluster every
// health-interval for its metadata on a connection of its own, opened for
// that request and bounded by health-timeout — not kafka-go's metadata
// cache, which keeps serving what it once knew while the cluster is gone.
// Health itself does not wait on the network (readiness and the metrics
// scrape call it often), except for the first answer, bounded by ctx. A
// binder without bindings is up. It implements [stream.HealthChecker].
func (bd *Binder) Health(ctx context.Context) error {
	bd.mu.Lock()
	closed, idle := bd.closed, len(bd.producers)+len(bd.consumers) == 0
	bd.mu.Unlock()
	switch {
	case closed:
		return bd.wrap(stream.ErrClosed, "kafka: health")
	case idle:
		return nil
	}
	if !bd.startProbe() {
		return bd.wrap(stream.ErrClosed, "kafka: health")
	}
	select {
	case <-bd.probed: // the first answer
	case <-ctx.Done():
		return bd.wrap(ctx.Err(), "kafka: health: no answer from the cluster yet")
	}
	bd.probeMu.Lock()
	defer bd.probeMu.Unlock()
	return bd.probeErr
}

// startProbe starts the background probe unless it runs; false when the
// binder closed first.
func (bd *Binder) startProbe() bool {
	bd.probeOnce.Do(func() {
		bd.probeStop, bd.probeDone, bd.probed = make(chan struct{}), make(chan struct{}), make(chan struct{})
		go bd.probe()
	})
	return bd.probed != nil
}

// stopProbe stops the probe and makes sure that none starts any more.
func (bd *Binder) stopProbe() {
	bd.probeOnce.Do(func() {})
	if bd.probeStop != nil {
		close(bd.probeStop)
		<-bd.probeDone
	}
}

func (bd *Binder) probe() {
	defer close(bd.probeDone)
	first := true
	for {
		ctx, cancel := context.WithTimeout(context.Background(), bd.st.healthTimeout)
		go func() { // end the request early when the binder closes
			select {
			case <-bd.probeStop:
				cancel()
			case <-ctx.Done():
			}
		}()
		var topics []string
		if !bd.st.autoCreateTopics {
			topics = bd.producerTopics()
		}
		res, err := bd.freshMetadata(ctx, topics)
		cancel()
		bd.probeMu.Lock()
		if err != nil {
			bd.probeErr = bd.wrap(err, "kafka: cluster unreachable (health probe, health-timeout %s)", bd.st.healthTimeout)
		} else {
			bd.probeErr = nil
			missing := map[string]bool{}
			for _, t := range res.Topics {
				if errors.Is(t.Error, kafkago.UnknownTopicOrPartition) {
					missing[t.Name] = true
				}
			}
			bd.missing = missing
		}
		bd.probeMu.Unlock()
		if first {
			close(bd.probed)
			first = false
		}
		if !sleepUntil(bd.st.healthInterval, bd.probeStop) {
			return
		}
	}
}

// freshMetadata asks the cluster for the metadata of topics (none when
// empty) on a transport of its own — new connections, no cache —, each
// step bounded by health-timeout and the whole by ctx. Topics that do not
// exist come back with UnknownTopicOrPartition; they are never created.
func (bd *Binder) freshMetadata(ctx context.Context, topics []string) (*kafkago.MetadataResponse, error) {
	if topics == nil {
		topics = []string{} // nil would ask for every topic
	}
	return bd.askMetadata(ctx, topics)
}

// askMetadata is freshMetadata, and asks for every topic of the cluster
// when topics is nil.
func (bd *Binder) askMetadata(ctx context.Context, topics []string) (*kafkago.MetadataResponse, error) {
	to := bd.st.healthTimeout
	tr := &kafkago.Transport{
		Dial:           bd.conns.dial, // Close ends a probe's connection too
		DialTimeout:    to,
		IdleTimeout:    to,
		MetadataTTL:    to,
		MetadataTopics: topics,
		ClientID:       bd.st.clientID,
		TLS:            bd.st.tls,
		SASL:           bd.st.sasl,
	}
	defer tr.CloseIdleConnections()
	cl := &kafkago.Client{Addr: kafkago.TCP(bd.st.brokers...), Transport: tr, Timeout: to}
	return cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: topics})
}

// topicExists asks the cluster (not the cache) whether topic exists; an
// error when it cannot tell.
func (bd *Binder) topicExists(ctx context.Context, topic string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, bd.st.healthTimeout)
	defer cancel()
	res, err := bd.freshMetadata(ctx, []string{topic})
	if err != nil {
		return false, err
	}
	for _, t := range res.Topics {
		if t.Name == topic {
			if errors.Is(t.Error, kafkago.UnknownTopicOrPartition) {
				return false, nil
			}
			return t.Error == nil, t.Error
		}
	}
	return false, nil
}

// producerTopics returns the distinct topics of the binder's producers.
func (bd *Binder) producerTopics() []string {
	bd.mu.Lock()
	defer bd.mu.Unlock()
	var ts []string
	for p := range bd.producers {
		ts = append(ts, p.topic)
	}
	slices.Sort(ts)
	return slices.Compact(ts)
}

// setMissing records what a send found out about topic.
func (bd *Binder) setMissing(topic string, missing bool) {
	bd.probeMu.Lock()
	defer bd.probeMu.Unlock()
	if bd.missing == nil {
		bd.missing = map[string]bool{}
	}
	bd.missing[topic] = missing
}

func (bd *Binder) topicMissing(topic string) bool {
	bd.probeMu.Lock()
	defer bd.probeMu.Unlock()
	return bd.missing[topic]
}

// Health reports the producer binding as down while its topic does not
// exist and auto-create-topics is off (as the binder's health probe or a
// failed send found out; up again once the probe finds the topic), and
// while the broker refuses the topic or the client (authorisation and the
// like, see refused; up again once a send succeeds). With
// auto-create-topics on, a send creates a missing topic again. It
// implements [stream.BindingHealthChecker].
func (p *producer) Health(context.Context) error {
	if !p.bd.st.autoCreateTopics && p.bd.topicMissing(p.topic) {
		return fmt.Errorf("kafka: topic %s: %w: create it or enable %s", p.topic, errTopicMissing, p.bd.st.autoCreateKey)
	}
	p.refMu.Lock()
	r := p.refusal
	p.refMu.Unlock()
	if r != nil && !errors.Is(r, errTopicMissing) {
		return p.bd.wrap(r, "kafka: topic %s: the broker refuses sends (down until a send succeeds)", p.topic)
	}
	return nil
}

// sleepUntil waits d; false when stop closed first.
func sleepUntil(d time.Duration, stop <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}
