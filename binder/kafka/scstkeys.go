package kafka

import (
	"errors"
	"fmt"
	"strings"

	"github.com/streambind/streambind/binder/props"
)

// The typed keys of SCSt's Kafka binder (KafkaBinderConfigurationProperties,
// KafkaConsumerProperties, KafkaProducerProperties) that have no setting
// of their own here: those whose SCSt meaning the binder has anyway are
// accepted, the others refused with the reason, so that an SCSt
// configuration either runs as it did or fails saying what it lacks.

// observationIgnored is the warning for enable-observation: true (key
// path first): the binder has no observation of its own; the app traces
// every binding with OpenTelemetry.
const observationIgnored = "%s: true is ignored: tracing is configured with management.tracing.* (package telemetry, stream.WithTracerProvider), which traces every binding on every binder"

// sendTimeoutUnderSync is why send-timeout-expression is refused with
// sync: true (decodeProducer); without sync it has no effect, in SCSt as
// here, and is taken.
const sendTimeoutUnderSync = "not supported with sync: true: SCSt waits that long at most for the broker's acknowledgement of a send; here every send waits for it, bounded by write-timeout × send-attempts (request.timeout.ms, retries + 1): set those for the binding, or give Bridge().Send a context with a deadline for a bound per message (a function's output is bounded by its input's handling)"

// dlqSendTimeoutUnderSync is sendTimeoutUnderSync for a consumer's
// dlq-producer-properties (the dead-letter writer's); without its sync the
// configuration loader warns of the key (config: ignoredBinderBindingKeys).
const dlqSendTimeoutUnderSync = "not supported with sync: true: SCSt waits that long at most for the broker's acknowledgement of a dead letter; here every dead letter waits for it, bounded by the dead-letter producer's write-timeout × send-attempts (request.timeout.ms, retries + 1): set those in dlq-producer-properties"

// javaBean is why a key naming a Spring bean is refused.
const javaBean = "it names a Spring bean, and there are none here: what the bean did is done in Go code (functions, stream options)"

// scstKey handles key k (normalised) with value v of the SCSt section
// kind ("binder", "consumer" or "producer"). handled is false for a key
// SCSt does not have there.
func scstKey(kind, k string, v any) (handled bool, err error) {
	// wantBool accepts v when it is ok; otherwise the error says why.
	wantBool := func(ok func(bool) bool, why string) error {
		b, err := props.Bool(v)
		if err != nil {
			return err
		}
		if !ok(b) {
			return fmt.Errorf("%v is not supported: %s", b, why)
		}
		return nil
	}
	is := func(want bool) func(bool) bool { return func(b bool) bool { return b == want } }
	anyBool := func(bool) bool { return true }
	switch kind + "." + k {
	// binder
	case "binder.headers":
		// Headers travel as native Kafka record headers, all of them.
		_, err = props.List(v)
	case "binder.considerdownwhenanypartitionhasnoleader":
		err = wantBool(is(false), "health follows whether the cluster answers (see Health); partition leaders are not checked")
	case "binder.headermapperbeanname":
		err = errors.New("not supported: " + javaBean)
	case "binder.certificatestoredirectory":
		err = errors.New("not supported: it is where SCSt copies key and trust stores out of the classpath, and a Go service has none: give the PEM files' paths (ssl.truststore.location ...)")
	case "binder.authorizationexceptionretryinterval":
		err = errors.New("not supported: an authorisation failure is retried by the app's start-up rule and the core's retries (see Errors)")
	case "binder.enableobservation":
		// Accepted, so that an SCSt file runs unchanged: true is ignored
		// with a warning (parseSettings, observationIgnored) saying where
		// tracing is configured.
		err = wantBool(anyBool, "")
	case "binder.zknodes", "binder.defaultzkport", "binder.zksessiontimeout", "binder.zkconnectiontimeout":
		// SCSt's Kafka binder has not used ZooKeeper since 2.0 (the keys
		// were deprecated as "no longer necessary", then dropped and
		// ignored as unknown): SCSt configurations and samples still carry
		// them, and they change nothing there either, at any value. So
		// here, as the same keys outside a binder's environment (removed
		// by the loader with a warning, config/scst.go), whatever they hold.
	case "binder.autoaltertopics":
		err = wantBool(is(false), "topic configurations are never altered: topic.properties apply only to a topic the binder creates (alter an existing topic's with kafka-configs --alter; partitions are added with auto-add-partitions)")
	// consumer
	case "consumer.ackeachrecord":
		// Offsets advance after each handled message anyway (commits are
		// coalesced, at least once).
		err = wantBool(anyBool, "")
	case "consumer.autocommitoffset":
		err = wantBool(is(true), "manual acknowledgment is not supported: the binder commits a message's offset once its handler returned nil (at least once)")
	case "consumer.ackmode":
		var s string
		if s, err = str(v); err == nil {
			// As Spring binds enums: case, '-' and '_' do not matter
			// (count-time is COUNT_TIME).
			switch props.EnumName(s) {
			case "record", "batch", "time", "count", "counttime":
				// When offsets are committed, not whether: at least once
				// in every mode.
			case "manual", "manualimmediate":
				err = fmt.Errorf("%s is not supported: streambind has no manual acknowledgment; the binder commits a message's offset once its handler returned nil (at least once)", s)
			default:
				err = fmt.Errorf("want RECORD, BATCH, TIME, COUNT or COUNT_TIME, got %q", s)
			}
		}
	case "consumer.autocommitonerror":
		// SCSt 4 applies it to pollable consumers only, which there are
		// none of: a message-driven binding ignores it there too. true is
		// what the binder does (a message that failed every attempt is
		// dead-lettered or dropped, and committed); false is ignored, the
		// configuration loader warning of it (config:
		// ignoredBinderBindingKeys).
		err = wantBool(anyBool, "")
	case "consumer.destinationispattern":
		err = wantBool(is(false), "topic patterns are not supported: list the topics in destination, comma-separated")
	case "consumer.standardheaders":
		var s string
		if s, err = str(v); err == nil && !strings.EqualFold(s, "none") {
			err = fmt.Errorf("%q is not supported: the record's own headers are handed over (the producer's id among them); no id or timestamp header is added", s)
		}
	case "consumer.idleeventinterval", "consumer.polltimeout":
		// Accepted at any value: they tune what SCSt does beside the
		// message-driven consumer (idle events to the Spring context, the
		// polling of a PollableMessageSource), which has no counterpart
		// here and changes nothing about consumption in SCSt either;
		// max-wait (fetch.max.wait.ms) bounds a fetch.
		_, err = props.Duration(v, true)
	case "consumer.txcommitrecovered":
		// SCSt's default; it applies to transactions only, and there are
		// none: a recovered (dead-lettered) record's offset is committed.
		err = wantBool(is(true), "exactly-once transactions are not supported (kafka-go has no transactional producer)")
	case "consumer.transactionmanager", "producer.transactionmanager":
		err = errors.New("not supported: exactly-once transactions are not (kafka-go has no transactional producer)")
	case "consumer.converterbeanname", "consumer.commonerrorhandlerbeanname":
		err = errors.New("not supported: " + javaBean)
	case "consumer.reactiveatmostonce", "consumer.reactiveautocommit":
		// false (SCSt's default) asks for nothing of a function that is
		// not reactive.
		err = wantBool(is(false), "there are no reactive functions")
	// producer
	case "producer.sync":
		// Every send waits for the broker's acknowledgement.
		err = wantBool(anyBool, "")
	case "producer.allownontransactional":
		// There are no transactions, so every send is non-transactional.
		err = wantBool(anyBool, "")
	case "producer.sendtimeoutexpression":
		// SCSt evaluates it only with sync: true, as how long a send
		// waits for the broker's acknowledgement (the record may still be
		// written after). Without sync it has no effect there, nor here
		// (the configuration loader warns of it at its file:line, config:
		// ignoredBinderBindingKeys, also in a consumer's
		// dlq-producer-properties); with sync, decodeProducer refuses it
		// before it gets here (sendTimeoutUnderSync,
		// dlqSendTimeoutUnderSync).
		_, err = props.String(v)
	case "producer.usetopicheader":
		err = wantBool(is(false), "the topic is the binding's destination (or a dynamic destination of the send bridge)")
	case "producer.recordmetadatachannel":
		err = errors.New("not supported: Send returns once the broker acknowledged the record")
	case "producer.closetimeout":
		// Seconds, SCSt's default 30; closing is bounded by the app's
		// shutdown-timeout instead.
		var n int
		if n, err = props.Int(v, 0); err == nil && n != 30 {
			err = fmt.Errorf("%d is not supported: closing a producer is bounded by stream.shutdown-timeout (the whole graceful shutdown); leave close-timeout at 30 (SCSt's default) or remove it", n)
		}
	default:
		return false, nil
	}
	return true, err
}
