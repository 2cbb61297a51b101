package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/topology"
)

// The keys of the RabbitMQ default prefixes (SCSt's
// spring.cloud.stream.rabbit.default.<side>.prefix).
const (
	consumerPrefixKey = "stream.rabbit.default.consumer.prefix"
	producerPrefixKey = "stream.rabbit.default.producer.prefix"
)

// prefixMismatch warns when a service's RabbitMQ default prefixes differ
// (only stream.rabbit.default.consumer.prefix set, say): its consumers then
// read the exchange <consumer prefix><destination> while its producers,
// and streambind send --destination, send to <producer prefix><destination>,
// which those consumers do not read. SCSt applies the two separately as
// well, so the configuration runs as written; the warning, at the key
// that is set (the consumer's when both are), names both keys and both
// exchanges, of a destination of the
// service's (<destination> when none uses the defaults).
func prefixMismatch(s *checkedService) stream.ConfigErrors {
	ext, ok := s.loaded.Stream.Extensions[rabbit.Type]
	if !ok {
		return nil
	}
	cp := topology.ExtString(ext.Default.Consumer, "prefix")
	pp := topology.ExtString(ext.Default.Producer, "prefix")
	if cp == pp {
		return nil
	}
	at := consumerPrefixKey
	if cp == "" {
		at = producerPrefixKey
	}
	name := func(key string) string { return spelt(s, key) }
	value := func(key, p string) string {
		if _, ok := s.exactOrigin(key); !ok && p == "" {
			return "is not set"
		}
		return fmt.Sprintf("is %q", p)
	}
	dest := prefixExampleDestination(s, ext)
	msg := fmt.Sprintf("%s %s but %s %s: this service's consumers read exchange %s while its producers (and streambind send --destination %s) send to exchange %s, which those consumers do not read (SCSt applies the two prefixes separately too); give both the same prefix",
		name(consumerPrefixKey), value(consumerPrefixKey, cp), name(producerPrefixKey), value(producerPrefixKey, pp),
		cp+dest, dest, pp+dest)
	return stream.ConfigErrors{&stream.ConfigError{Path: at, Origin: s.origin(at), Msg: msg}}
}

// spelt is key as the configuration spells it where it was set
// (shownKey), key itself when it was not.
func spelt(s *checkedService, key string) string {
	if o, ok := s.exactOrigin(key); ok {
		return shownKey(key, o)
	}
	return key
}

// prefixExampleDestination is a destination of one of s's RabbitMQ
// bindings that take the default prefix (no prefix of their own under
// ext, not a dead-letter reader), the first by name, a consumer's before
// a producer's; "<destination>" when there is none.
func prefixExampleDestination(s *checkedService, ext stream.ExtensionConfig) string {
	own := func(b *binding) bool {
		for k, eb := range ext.Bindings {
			if !strings.EqualFold(k, b.name) {
				continue
			}
			side := eb.Producer
			if b.input {
				side = eb.Consumer
			}
			for pk := range side {
				if strings.EqualFold(pk, "prefix") {
					return true
				}
			}
		}
		return false
	}
	var cons, prods []*binding
	for _, b := range s.bindings {
		if !b.configured || b.binderType != rabbit.Type || len(b.destinations) == 0 || b.consumer.DeadLettersOf != "" || own(b) {
			continue
		}
		if b.input {
			cons = append(cons, b)
		} else {
			prods = append(prods, b)
		}
	}
	for _, bs := range [][]*binding{cons, prods} {
		sort.Slice(bs, func(i, j int) bool { return bs[i].name < bs[j].name })
		if len(bs) > 0 {
			return bs[0].destinations[0]
		}
	}
	return "<destination>"
}

// readerDLQArgs warns of a RabbitMQ dead-letter reader
// (consumer.dead-letters-of) with dlq of its own whose source declares the
// dead-letter queue without the arguments the reader declares it with: the
// reader's queue is that DLQ, and a consumer with dlq declares its queue
// with x-dead-letter-exchange (its DLX, <prefix>DLX) and
// x-dead-letter-routing-key (the queue's name), which the source gives its
// DLQ only with dlq-dead-letter-exchange and dlq-dead-letter-routing-key.
// Whichever declares the queue second fails at start (PRECONDITION_FAILED).
func readerDLQArgs(s *service, readers []deadLetterReader) stream.ConfigErrors {
	cfg := s.loaded.Stream
	var out stream.ConfigErrors
	for _, r := range readers {
		n, of := r.name, r.of
		if !cfg.Binding(n).Consumer.DLQ || r.ds.Group == "" || binderType(cfg, r.src.Binder) != rabbit.Type {
			continue
		}
		cons, _ := cfg.Extension(rabbit.Type, n)
		queue := topology.DeadLetterQueue(r.ds)
		dlx := topology.ExtString(cons, "dead-letter-exchange")
		if dlx == "" {
			dlx = topology.ExtString(r.ds.Extension, "prefix") + rabbit.DLXName
		}
		key := topology.ExtString(cons, "dead-letter-routing-key")
		if key == "" {
			key = queue
		}
		// dlx is never empty: an unset dlq-dead-letter-exchange differs.
		src, _ := cfg.Extension(rabbit.Type, of)
		if topology.ExtString(src, "dlq-dead-letter-exchange") == dlx && topology.ExtString(src, "dlq-dead-letter-routing-key") == key {
			continue
		}
		out = append(out, &stream.ConfigError{Path: "stream.bindings." + n + ".consumer.dlq",
			Msg: fmt.Sprintf("binding %s reads the dead letters of %s and has dlq: it declares their queue %s with x-dead-letter-exchange %s and x-dead-letter-routing-key %s, and %s declares that queue with its dlq-dead-letter-exchange and dlq-dead-letter-routing-key: "+
				"unless they are the same, whichever binds second fails at start (PRECONDITION_FAILED); set stream.rabbit.bindings.%s.consumer.dlq-dead-letter-exchange: %s and dlq-dead-letter-routing-key: %s",
				n, of, queue, dlx, key, of, of, dlx, key)})
	}
	return out
}
