package rabbit

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/stream"
)

// ErrTooLarge: a message the broker would refuse for its size (its
// content-header frame exceeds the connection's negotiated frame_max, or its
// payload exceeds max-message-size). The binder does not publish it: the
// broker would close the whole connection with FRAME_ERROR (header) or the
// channel with PRECONDITION_FAILED (payload). Sends fail with it wrapped in
// stream.Permanent.
var ErrTooLarge = errors.New("message too large for the broker")

// errInvalidMessage: a message AMQP cannot encode (a name, header name or
// short property over 255 bytes, a header value of an unsupported type).
// amqp091-go would close the whole connection on the encoding error.
var errInvalidMessage = errors.New("message cannot be encoded in AMQP 0-9-1")

// errRefusedProperty: a message whose amqp_expiration or amqp_userId
// header sets a property RabbitMQ refuses (an expiration that is not a
// TTL it accepts, a user_id other than the connection's user): the broker
// would close the channel with 406 PRECONDITION_FAILED, losing the
// confirms of every message in flight on it. Refused before publishing
// (producer.refusedProperty), or, when the broker refused it all the same,
// blamed on the message its closure names (propertyRefused).
var errRefusedProperty = errors.New("message property the broker refuses")

// frameErrorLimit is how many connections a publish may see closed by the
// broker with a frame error while it was unconfirmed before the message is
// taken to be their cause (a permanent failure for that message). Other
// publishes in flight on the same connection at the time see the same
// closure, so one is not enough to blame a message.
const frameErrorLimit = 3

// Classification of AMQP errors, in one place. Per message (what a publish
// or a dead letter does):
//
//   - the message is at fault (isPermanent): 406 PRECONDITION_FAILED on
//     publishing (over the broker's max_message_size, when it is lower than
//     max-message-size, the channel's closure names the limit: the message
//     over it fails with ErrTooLarge, the others in flight on the channel
//     are published again; an invalid expiration or another user's
//     user_id, the closure names the value: the message with it fails
//     with errRefusedProperty, the others go again), ErrTooLarge,
//     errInvalidMessage and errRefusedProperty (found before
//     publishing), a connection the broker
//     closed with a frame error frameErrorLimit times while the message was
//     in flight. A Send fails with stream.Permanent; a dead letter is
//     dropped.
//   - the destination is refused (isRefused): 403 ACCESS_REFUSED on
//     publishing to the exchange or declaring it. The binding is at fault,
//     not the message: a Send fails with a transient error and its producer
//     binding reports itself down until a send succeeds; a dead letter is
//     dropped (holding the message would loop) and the consumer binding
//     reports itself down until a dead letter succeeds.
//   - 404 NOT_FOUND for the exchange published to: the binder declares its
//     own exchange again (producer) or its DLQ topology (dead letters); if
//     that is refused, as above.
//   - transient: everything else: connection loss, 320 CONNECTION_FORCED,
//     541 INTERNAL_ERROR, resource alarms (a blocked connection, a Send's
//     ctx ending), nacks, 312 NO_ROUTE (a queue may be bound later; the
//     core leaves the input for redelivery after redelivery-delay).
//
// At connect time: 403 ACCESS_REFUSED (credentials), 530 NOT_ALLOWED (no
// access to the virtual host), TLS handshake failures other than the
// network's and a TLS alert from the peer before the AMQP handshake is done
// (TLS 1.3 servers refuse a client certificate that way) are configuration
// errors; anything else (refused, reset or
// timed-out connections, DNS failures) means the broker is unavailable
// (stream.ErrUnavailable).

// amqpCode returns the AMQP reply code err carries, if any.
func amqpCode(err error) (int, bool) {
	var ae *amqp.Error
	if errors.As(err, &ae) {
		return ae.Code, true
	}
	return 0, false
}

// isPermanent reports whether a publish failed because of the message, so
// that it cannot succeed on retry.
func isPermanent(err error) bool {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, errInvalidMessage) || errors.Is(err, errRefusedProperty) || errors.Is(err, errFrameErrors) {
		return true
	}
	code, ok := amqpCode(err)
	return ok && code == amqp.PreconditionFailed
}

// isRefused reports whether a publish failed because the broker refuses
// the client access to the exchange (the binding's fault, not the
// message's).
func isRefused(err error) bool {
	code, ok := amqpCode(err)
	return ok && code == amqp.AccessRefused
}

// declareRefused reports whether declaring topology failed for good: no
// permission, or an entity of that name exists with other arguments.
func declareRefused(err error) bool {
	code, ok := amqpCode(err)
	return ok && (code == amqp.AccessRefused || code == amqp.PreconditionFailed || code == amqp.NotAllowed)
}

// errFrameErrors marks a publish that was in flight on frameErrorLimit
// connections the broker closed with a frame error.
var errFrameErrors = errors.New("the broker closed the connection with a frame error every time this message was published")

// isFrameError reports whether e is a connection closure by the broker for
// a malformed or oversized frame (as opposed to a lost socket, which
// amqp091-go reports as a client-side FRAME_ERROR).
func isFrameError(e *amqp.Error) bool {
	if e == nil || !e.Server {
		return false
	}
	switch e.Code {
	case amqp.FrameError, amqp.SyntaxError, amqp.CommandInvalid, amqp.UnexpectedFrame:
		return true
	}
	return false
}

// exchangeNotFound reports whether err says that exchange does not exist.
func exchangeNotFound(err error, exchange string) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && ae.Code == amqp.NotFound && strings.Contains(ae.Reason, "exchange '"+exchange+"'")
}

// aboutExchange reports whether a channel closure names exchange: then it
// was caused by a publish to it, not by another publish of the lane. The
// broker names the default exchange "" amq.default ("access to exchange
// 'amq.default' in vhost ..."), so a refused publish to a wait queue is
// not taken for another exchange's doing.
func aboutExchange(e *amqp.Error, exchange string) bool {
	if exchange == "" {
		exchange = "amq.default"
	}
	return e != nil && strings.Contains(e.Reason, "exchange '"+exchange+"'")
}

// refusedAtConnect reports whether a dial failed because the broker (or the
// TLS peer) refused the client's identity or configuration, which retrying
// cannot fix, rather than because it could not be reached: 403 and 530,
// and a TLS handshake that failed for any reason but the network (an
// untrusted or mismatched certificate, an alert from the peer during the
// handshake or just after it, a peer that does not speak TLS at all).
func refusedAtConnect(err error) bool {
	if code, ok := amqpCode(err); ok && (code == amqp.AccessRefused || code == amqp.NotAllowed) {
		return true
	}
	var (
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		cve *tls.CertificateVerificationError
		te  *tlsError
	)
	if errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &cve) {
		return true
	}
	return errors.As(err, &te) && !te.network()
}

// tlsError is a TLS handshake that failed, or a TLS alert the peer sent
// just after it (before the AMQP handshake was done).
type tlsError struct{ err error }

func (e *tlsError) Error() string {
	var rh tls.RecordHeaderError
	if errors.As(e.err, &rh) {
		return fmt.Sprintf("TLS handshake: %v (the peer does not speak TLS: amqps to a plain AMQP port?)", e.err)
	}
	if isAlert(e.err) {
		return fmt.Sprintf("TLS handshake: %v (the TLS peer refused the connection: check tls.cert-file and tls.key-file, the client certificate it requires and the CA it trusts)", e.err)
	}
	return fmt.Sprintf("TLS handshake: %v", e.err)
}

func (e *tlsError) Unwrap() error { return e.err }

// network reports whether the handshake failed because the connection
// failed (closed, reset, timed out), which may be transient, rather than
// because the peers disagree. An alert from the peer (bad certificate,
// certificate required, unknown CA, ...) comes as a *net.OpError too, but
// is the peers disagreeing.
func (e *tlsError) network() bool {
	if isAlert(e.err) {
		return false
	}
	var ne net.Error
	return errors.Is(e.err, io.EOF) || errors.Is(e.err, io.ErrUnexpectedEOF) || errors.Is(e.err, syscall.ECONNRESET) ||
		errors.Is(e.err, net.ErrClosed) || errors.As(e.err, &ne)
}

// isAlert reports whether err is a TLS alert the peer sent ("remote
// error: tls: ..."): crypto/tls reports it as a *net.OpError with Op
// "remote error".
func isAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// alertConn is a TLS connection that keeps the first TLS alert the peer
// sent while reading, which amqp091-go reduces to text.
type alertConn struct {
	*tls.Conn
	alert atomic.Pointer[error]
}

func (c *alertConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && isAlert(err) {
		c.alert.CompareAndSwap(nil, &err)
	}
	return n, err
}

// dialError is a failed connection attempt, its text already redacted.
type dialError struct {
	msg     string
	refused bool        // see refusedAtConnect
	amqp    *amqp.Error // the broker's reply, if any (it holds no secret)
}

func (e *dialError) Error() string { return e.msg }

func (e *dialError) Unwrap() error {
	if e.amqp == nil {
		return nil
	}
	return e.amqp
}

func newDialError(msg string, err error) *dialError {
	de := &dialError{msg: msg, refused: refusedAtConnect(err)}
	var ae *amqp.Error
	if errors.As(err, &ae) {
		de.amqp = ae
	}
	return de
}

// forBind turns a connection failure into what BindProducer and
// BindConsumer return: wrapped with stream.UnavailableUntil(next), next
// being the earliest a bind's next connection attempt can start (see
// bindAttemptInterval), unless the broker refused the client (then
// start-up ends at once). The app's retry waits until next and says so in
// its WARN, instead of logging a shorter back-off of its own that the bind
// would then spend waiting in getForBind.
func forBind(err error, next time.Time) error {
	var de *dialError
	if errors.As(err, &de) && de.refused {
		return err
	}
	return stream.UnavailableUntil(err, next)
}

// Sizes of the AMQP 0-9-1 encoding, as amqp091-go writes it.
const (
	frameOverhead = 8 // type, channel, size, frame-end
	// contentHeaderFixed: class-id, weight, body size, property flags.
	contentHeaderFixed = 2 + 2 + 8 + 2
	maxShortstr        = 255
)

// headerFrameSize returns the payload size of msg's content-header frame,
// or an error wrapping errInvalidMessage when amqp091-go could not encode it.
func headerFrameSize(msg *amqp.Publishing) (int, error) {
	n := contentHeaderFixed
	for _, p := range []struct{ name, v string }{
		{"content_type", msg.ContentType}, {"content_encoding", msg.ContentEncoding},
		{"correlation_id", msg.CorrelationId}, {"reply_to", msg.ReplyTo},
		{"expiration", msg.Expiration}, {"message_id", msg.MessageId},
		{"type", msg.Type}, {"user_id", msg.UserId}, {"app_id", msg.AppId},
	} {
		if p.v == "" {
			continue
		}
		if len(p.v) > maxShortstr {
			return 0, fmt.Errorf("%w: property %s is %d bytes (at most %d)", errInvalidMessage, p.name, len(p.v), maxShortstr)
		}
		n += 1 + len(p.v)
	}
	if len(msg.Headers) > 0 {
		t, err := tableSize(msg.Headers)
		if err != nil {
			return 0, err
		}
		n += t
	}
	if msg.DeliveryMode > 0 {
		n++
	}
	if msg.Priority > 0 {
		n++
	}
	if !msg.Timestamp.IsZero() {
		n += 8
	}
	return n, nil
}

// tableSize is the encoded size of a field table (its 4-byte length
// included).
func tableSize(t amqp.Table) (int, error) {
	n := 4
	for k, v := range t {
		if len(k) > maxShortstr {
			return 0, fmt.Errorf("%w: header name %.40q… is %d bytes (at most %d)", errInvalidMessage, k, len(k), maxShortstr)
		}
		f, err := fieldSize(v)
		if err != nil {
			return 0, fmt.Errorf("header %q: %w", k, err)
		}
		n += 1 + len(k) + f
	}
	return n, nil
}

// headerOverhead is what a string header costs beyond the bytes of its
// name and value: the name's length byte, the type tag and the value's
// 4-byte length.
const headerOverhead = 1 + 1 + 4

func fieldSize(v any) (int, error) {
	switch x := v.(type) {
	case bool, byte, int8:
		return 2, nil
	case int16, uint16:
		return 3, nil
	case int, int32, uint32, float32:
		return 5, nil
	case int64, float64, time.Time:
		return 9, nil
	case amqp.Decimal:
		return 6, nil
	case string:
		return 5 + len(x), nil
	case []byte:
		return 5 + len(x), nil
	case nil:
		return 1, nil
	case amqp.Table:
		n, err := tableSize(x)
		return 1 + n, err
	case []any:
		n := 5
		for _, e := range x {
			f, err := fieldSize(e)
			if err != nil {
				return 0, err
			}
			n += f
		}
		return n, nil
	}
	return 0, fmt.Errorf("%w: header value of type %T", errInvalidMessage, v)
}

// checkPublishing returns an error wrapping ErrTooLarge or
// errInvalidMessage when msg cannot be published to exchange with key on a
// connection whose negotiated frame_max is frameMax (0: no limit), nil
// otherwise.
func checkPublishing(exchange, key string, msg *amqp.Publishing, frameMax, maxMessageSize int) error {
	if len(exchange) > maxShortstr {
		return fmt.Errorf("%w: exchange name is %d bytes (at most %d)", errInvalidMessage, len(exchange), maxShortstr)
	}
	if len(key) > maxShortstr {
		return fmt.Errorf("%w: routing key is %d bytes (at most %d)", errInvalidMessage, len(key), maxShortstr)
	}
	n, err := headerFrameSize(msg)
	if err != nil {
		return err
	}
	if frameMax > 0 && n > frameMax-frameOverhead {
		return fmt.Errorf("%w: its properties and headers encode to %d bytes, over the %d a frame holds (negotiated frame_max %d); AMQP sends them in one frame", ErrTooLarge, n, frameMax-frameOverhead, frameMax)
	}
	if maxMessageSize > 0 && len(msg.Body) > maxMessageSize {
		return fmt.Errorf("%w: payload of %d bytes, over max-message-size %d", ErrTooLarge, len(msg.Body), maxMessageSize)
	}
	return nil
}
