package kafka

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/apiversions"
	"github.com/segmentio/kafka-go/protocol/metadata"
	"github.com/segmentio/kafka-go/protocol/saslhandshake"
)

// A client whose TLS or SASL settings do not match the broker's listener
// learns little from kafka-go: TLS to a plain listener ends in EOF or a
// read timeout (the broker reads the ClientHello as the size of a request
// of hundreds of megabytes), plain to a TLS listener and no SASL to a SASL
// listener in EOF (the broker closes the connection). All of them look
// like an unreachable broker. When a bind fails so, securityMismatch asks
// the broker itself, on connections of its own that carry no credentials:
//
//   - does it answer an ApiVersions request in plain Kafka? Then a client
//     with TLS on talks TLS to a plain listener;
//   - else, does it complete a TLS handshake (or send a TLS alert)? Then a
//     client with TLS off talks plain Kafka to a TLS listener;
//   - with the client's own TLS setting, does it answer a SASL handshake
//     for a mechanism it does not know with the mechanisms it enables
//     (a listener without SASL answers ILLEGAL_SASL_STATE)? Then a client
//     without SASL talks to a SASL listener.
//
// Each is a configuration error retrying cannot fix: the bind fails with
// it at once, naming the likely cause. Anything less certain (no answer,
// no connection) leaves the error as it was.

// probeMechanism is the SASL mechanism the probe asks for: no broker
// enables it, so the answer lists those it does.
const probeMechanism = "STREAMBIND-PROBE"

// maxProbeTime bounds the probe (with dial-timeout and the bind's
// context): a broker that answers at all answers it in milliseconds, and
// one that does not must not hold a bind (or the app's start-up retries)
// much longer than it already waited.
const maxProbeTime = 2 * time.Second

// maxProbeResponse bounds the answers the probe reads: what a plain-text
// read of a TLS record (or anything but Kafka) takes for a size is larger.
const maxProbeResponse = 1 << 20

// mismatchError is a bind error explained by a mismatch of the client's
// security settings and the broker's listener.
type mismatchError struct {
	err  error
	hint string
}

func (e *mismatchError) Error() string { return e.err.Error() + " (" + e.hint + ")" }
func (e *mismatchError) Unwrap() error { return e.err }

// closedOrSilent reports whether err is a connection the broker closed or
// did not answer on, which a security mismatch looks like.
func closedOrSilent(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// securityMismatch returns err explained (a *mismatchError) when the
// broker shows that the client's TLS or SASL settings do not match its
// listener, else nil. It tries the bootstrap brokers in turn until one
// accepts a connection, within ctx, dial-timeout and maxProbeTime in all.
func (bd *Binder) securityMismatch(ctx context.Context, err error) error {
	if ctx.Err() != nil || !closedOrSilent(firstWriteError(err)) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, min(bd.st.dialTimeout, maxProbeTime))
	defer cancel()
	for _, addr := range bd.st.brokers {
		hint, reached := bd.probeListener(ctx, addr)
		if hint != "" {
			return &mismatchError{err: err, hint: hint}
		}
		if reached {
			return nil
		}
	}
	return nil
}

// probeListener asks the broker at addr about its listener (see above). reached
// reports whether it accepted a connection.
func (bd *Binder) probeListener(ctx context.Context, addr string) (hint string, reached bool) {
	plain, err := bd.probeConn(ctx, addr, nil)
	if err != nil {
		return "", false
	}
	_, err = roundTrip(plain, 0, &apiversions.Request{})
	plain.Close()
	plainKafka := err == nil
	if bd.st.tls != nil && plainKafka {
		return fmt.Sprintf("the broker at %s answers in plain Kafka, without TLS, and TLS is on: check the port and security.protocol (SSL and SASL_SSL are for TLS listeners, PLAINTEXT and SASL_PLAINTEXT for plain ones)", addr), true
	}
	if bd.st.tls == nil && !plainKafka {
		host, _, _ := net.SplitHostPort(addr)
		c, err := bd.probeConn(ctx, addr, &tls.Config{InsecureSkipVerify: true, ServerName: host}) // only to learn whether it speaks TLS
		if err == nil {
			c.Close()
		}
		var op *net.OpError
		if err == nil || errors.As(err, &op) && op.Op == "remote error" {
			return fmt.Sprintf("the broker at %s speaks TLS and TLS is off: set security.protocol to SSL (SASL_SSL with SASL) and the tls settings, or use the broker's plain listener", addr), true
		}
		return "", true
	}
	if bd.st.sasl != nil || !plainKafka && bd.st.tls == nil {
		return "", true
	}
	// A listener without SASL answers a request sent before any
	// authentication; only one that refuses it (closes the connection)
	// requires SASL. Some brokers (kfake) list mechanisms to a SASL
	// handshake on any listener.
	mc, err := bd.probeConn(ctx, addr, bd.st.tls)
	if err != nil {
		return "", true
	}
	_, err = roundTrip(mc, 1, &metadata.Request{TopicNames: []string{}})
	mc.Close()
	if err == nil || !closedOrSilent(err) || ctx.Err() != nil {
		return "", true
	}
	c, err := bd.probeConn(ctx, addr, bd.st.tls)
	if err != nil {
		return "", true
	}
	defer c.Close()
	res, err := roundTrip(c, 1, &saslhandshake.Request{Mechanism: probeMechanism})
	if err != nil {
		return "", true
	}
	if r, ok := res.(*saslhandshake.Response); ok && len(r.Mechanisms) > 0 && (r.ErrorCode == 0 || r.ErrorCode == 33) { // 33: UNSUPPORTED_SASL_MECHANISM
		return fmt.Sprintf("the broker at %s requires SASL authentication (mechanisms %s) and SASL is off: set security.protocol to SASL_PLAINTEXT or SASL_SSL with sasl.mechanism and sasl.jaas.config (or sasl: mechanism, username, password)", addr, strings.Join(r.Mechanisms, ", ")), true
	}
	return "", true
}

// probeConn connects to addr (over TLS when cfg is set), bounded by ctx
// (which has a deadline) for the connection and what the probe does on
// it.
func (bd *Binder) probeConn(ctx context.Context, addr string, cfg *tls.Config) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	deadline, _ := ctx.Deadline()
	if err := c.SetDeadline(deadline); err != nil {
		c.Close()
		return nil, err
	}
	if cfg == nil {
		return c, nil
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

// roundTrip sends req (version v) on c and reads its answer, refusing one
// that does not look like a Kafka response of a sensible size.
func roundTrip(c net.Conn, v int16, req protocol.Message) (protocol.Message, error) {
	const correlationID = 1
	if err := protocol.WriteRequest(c, v, correlationID, "streambind-probe", req); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > maxProbeResponse {
		return nil, errors.New("not a Kafka response")
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		return nil, err
	}
	id, res, err := protocol.ReadResponse(io.MultiReader(bytes.NewReader(size[:]), bytes.NewReader(body)), req.ApiKey(), v)
	if err != nil {
		return nil, err
	}
	if id != correlationID {
		return nil, errors.New("not a Kafka response")
	}
	return res, nil
}
