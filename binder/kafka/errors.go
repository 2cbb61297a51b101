package kafka

import (
	"context"
	"errors"
	"io"
	"net"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/streambind/streambind/stream"
)

// Errors are classified once, here (see "Errors" in the package doc). The
// rule: permanent means the message is at fault; a destination that is
// missing or forbidden is the binding's fault.
//
//   - permanent: the broker refuses this record and would refuse it again
//     however often it is sent (size limits, an invalid record). A send
//     returns it wrapped with stream.Permanent (the core dead-letters or
//     drops the input); a dead-letter write gives up on it.
//   - refused: the broker refuses the destination or the client, whatever
//     the message (authorisation, authentication, an invalid topic name or
//     producer setting, a topic that does not exist while
//     auto-create-topics is off). Not the message's fault: a send returns
//     it as a transient error (the core leaves the input for redelivery)
//     and the producer binding reports itself down until a send succeeds
//     again or the topic exists again; a dead-letter write gives up on it
//     (the message is dropped and counted: a dead-letter topic that cannot
//     be written must not stop the partition); a bind fails at once.
//   - transient: everything else (lost connections, leader changes,
//     NOT_ENOUGH_REPLICAS, request timeouts, an unknown error): retried
//     with back-off.
//
// unreachable further tells, among the transient errors, those that mean
// no broker answered at all: at start-up they are wrapped with
// stream.Unavailable, so that the app retries the bind.

// errTopicMissing marks an operation on a topic that does not exist while
// auto-create-topics is off.
var errTopicMissing = errors.New("topic does not exist and auto-create-topics is false")

// messageFaults are the broker's answers that refuse the record itself.
var messageFaults = []kafkago.Error{
	kafkago.MessageSizeTooLarge, kafkago.RecordListTooLarge, kafkago.InvalidRecord,
}

// refusalCodes are the broker's answers that refuse the destination or the
// client, whatever the record.
var refusalCodes = []kafkago.Error{
	// authorisation
	kafkago.TopicAuthorizationFailed, kafkago.GroupAuthorizationFailed,
	kafkago.ClusterAuthorizationFailed, kafkago.TransactionalIDAuthorizationFailed,
	kafkago.SASLAuthenticationFailed, kafkago.DelegationTokenAuthorizationFailed,
	// invalid names and producer settings
	kafkago.InvalidTopic, kafkago.InvalidRequiredAcks, kafkago.UnsupportedForMessageFormat,
	kafkago.UnsupportedCompressionType, kafkago.PolicyViolation,
}

// permanent reports whether err refuses the message itself, for good (see
// above).
func permanent(err error) bool {
	err = firstWriteError(err)
	if err == nil {
		return false
	}
	for _, code := range messageFaults {
		if errors.Is(err, code) {
			return true
		}
	}
	return false
}

// refused reports whether err refuses the destination or the client,
// whatever the message (see above).
func refused(err error) bool {
	err = firstWriteError(err)
	if err == nil {
		return false
	}
	if errors.Is(err, errTopicMissing) {
		return true
	}
	for _, code := range refusalCodes {
		if errors.Is(err, code) {
			return true
		}
	}
	return false
}

// sizeError reports whether err is the broker's (or kafka-go's) refusal of
// a record or batch for its size.
func sizeError(err error) bool {
	err = firstWriteError(err)
	return errors.Is(err, kafkago.MessageSizeTooLarge) || errors.Is(err, kafkago.RecordListTooLarge)
}

// unknownTopic reports whether err says that the topic does not exist:
// the broker's UNKNOWN_TOPIC_OR_PARTITION, or kafka-go's "topic not found"
// when its (cached) metadata lacks the topic.
func unknownTopic(err error) bool {
	err = firstWriteError(err)
	return errors.Is(err, kafkago.UnknownTopicOrPartition) || errors.Is(err, protocol.ErrNoTopic)
}

// firstWriteError returns the first non-nil error of a kafka-go
// WriteErrors (which does not unwrap), else err.
func firstWriteError(err error) error {
	var we kafkago.WriteErrors
	if errors.As(err, &we) {
		for _, e := range we {
			if e != nil {
				return e
			}
		}
		return nil
	}
	return err
}

// unavailableCodes are the broker's answers that mean the cluster cannot
// serve yet (no live broker, no leader or coordinator elected).
var unavailableCodes = []kafkago.Error{
	kafkago.BrokerNotAvailable, kafkago.LeaderNotAvailable, kafkago.NotLeaderForPartition,
	kafkago.GroupCoordinatorNotAvailable, kafkago.GroupLoadInProgress, kafkago.NotCoordinatorForGroup,
	kafkago.NotController, kafkago.NetworkException, kafkago.RequestTimedOut,
	kafkago.NotEnoughReplicas, kafkago.NotEnoughReplicasAfterAppend, kafkago.KafkaStorageError,
}

// unreachable reports whether err means that the cluster could not be
// reached or could not serve, as opposed to an answer it gave about the
// request: refused or timed-out connections, DNS failures, connections
// reset or closed (but not while SASL is on: a broker closes the
// connection on bad credentials), the binder's own timeouts, and the
// broker codes of a cluster without a live broker, leader or coordinator.
// TLS failures and every other broker answer are not.
func (bd *Binder) unreachable(err error) bool {
	err = firstWriteError(err)
	if err == nil || permanent(err) || refused(err) {
		return false
	}
	if errors.Is(err, stream.ErrClosed) {
		// The binder closed (a request it cut short fails with the
		// read's timeout too): retrying does not help.
		return false
	}
	for _, code := range unavailableCodes {
		if errors.Is(err, code) {
			return true
		}
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		// "remote error" / "local error" are TLS alerts: a configuration
		// problem, not an outage.
		return op.Op == "dial" || op.Op == "read" || op.Op == "write"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return bd.st.sasl == nil
	}
	return false
}
