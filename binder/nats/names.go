package nats

import (
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"unicode/utf8"

	natsgo "github.com/nats-io/nats.go"

	"github.com/streambind/streambind/stream"
)

// checkSubject reports why s cannot be a destination (a literal NATS
// subject), or nil.
func checkSubject(s string) error {
	if s == "" {
		return errors.New("empty destination")
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("destination %q is not valid UTF-8", s)
	}
	for _, tok := range strings.Split(s, ".") {
		switch {
		case tok == "":
			return fmt.Errorf("destination %q: empty token (a leading, trailing or doubled '.')", s)
		case tok == "*" || tok == ">":
			return fmt.Errorf("destination %q: wildcards (* and >) are not allowed", s)
		}
		for _, r := range tok {
			if r <= ' ' || r == 0x7f {
				return fmt.Errorf("destination %q: white space or control character %q", s, r)
			}
		}
	}
	return nil
}

// maxNameLen bounds the stream and consumer names the binder derives.
const maxNameLen = 200

// safeName derives a stream or consumer name from s (a destination, a
// group): ASCII letters, digits and '-' are kept, '.' becomes '_', every
// other character becomes '_' too. When that is lossy — s held a '_' or
// another character than those — or longer than maxNameLen, "-" and 8 hex
// digits of s's FNV-1a hash are appended (after cutting it to length), so
// that two different inputs never give one name: "orders.eu" gives
// "orders_eu", "orders_eu" gives "orders_eu-5d7c0b1e".
func safeName(s string) string {
	var b strings.Builder
	lossy := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			b.WriteByte(c)
		case c == '.':
			b.WriteByte('_')
		default:
			b.WriteByte('_')
			lossy = true
		}
	}
	name := b.String()
	if len(name) > maxNameLen {
		name = name[:maxNameLen]
		lossy = true
	}
	if lossy || name == "" {
		h := fnv.New32a()
		_, _ = h.Write([]byte(s))
		name += fmt.Sprintf("-%08x", h.Sum32())
	}
	return name
}

// StreamName is the name of the stream the binder creates for a
// destination: the destination with '.' replaced by '_' (see the package
// doc for the rule).
func StreamName(destination string) string { return safeName(destination) }

// DurableName is the name of the durable consumer of a named group on its
// destination's stream: the group, sanitised like a stream name, with
// "_p<instance-index>" appended for a partitioned consumer (instance < 0:
// not partitioned).
func DurableName(group string, instance int) string {
	n := safeName(group)
	if instance >= 0 {
		n += "_p" + strconv.Itoa(instance)
	}
	return n
}

// Header names of the binder's own.
const (
	// keyHeader carries Envelope.Key (as the RabbitMQ binder does).
	keyHeader = "x-streambind-key"
	// HeaderOriginalSubject, HeaderOriginalStream and
	// HeaderOriginalSequence locate the original of a dead letter.
	HeaderOriginalSubject  = "x-original-subject"
	HeaderOriginalStream   = "x-original-stream"
	HeaderOriginalSequence = "x-original-sequence"
)

// encPrefix and encSuffix wrap a header value that NATS cannot carry as
// it is (RFC 2047's base64 encoded-word).
const (
	encPrefix = "=?utf-8?b?"
	encSuffix = "?="
)

// encodeValue returns v as NATS can carry it in a header: unchanged, or,
// when it holds a control character (a line break), leading or trailing
// white space, or starts like an encoded word, as one RFC 2047 encoded
// word ("=?utf-8?b?<base64>?="), which decodeValue undoes.
func encodeValue(v string) string {
	need := strings.HasPrefix(v, "=?") || (v != "" && (isSpace(v[0]) || isSpace(v[len(v)-1])))
	for i := 0; !need && i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			need = true
		}
	}
	if !need {
		return v
	}
	return encPrefix + base64.StdEncoding.EncodeToString([]byte(v)) + encSuffix
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// decodeValue undoes encodeValue; a value that is not one encoded word is
// returned as it is.
func decodeValue(v string) string {
	if len(v) < len(encPrefix)+len(encSuffix) || !strings.HasPrefix(v, encPrefix) || !strings.HasSuffix(v, encSuffix) {
		return v
	}
	b, err := base64.StdEncoding.DecodeString(v[len(encPrefix) : len(v)-len(encSuffix)])
	if err != nil {
		return v
	}
	return string(b)
}

// checkHeaderName reports why k cannot be a NATS header name.
func checkHeaderName(k string) error {
	if k == "" {
		return errors.New("empty header name")
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return fmt.Errorf("header name %q: NATS header names are printable ASCII without ':' or white space", k)
		}
	}
	if strings.HasPrefix(strings.ToLower(k), "nats-") {
		return fmt.Errorf("header name %q: headers starting with Nats- are reserved by JetStream", k)
	}
	return nil
}

// toHeader builds the NATS headers of m: its headers (values encoded as
// encodeValue describes), contentType when it has none, the key, and the
// id (generated when missing) which is returned, encoded, for Nats-Msg-Id.
func toHeader(m stream.Envelope, contentType string, newID func() string) (natsgo.Header, string, error) {
	h := make(natsgo.Header, len(m.Headers)+5) // + contentType, id, key, and JetStream's Nats-Msg-Id, Nats-Expected-Stream
	for k, v := range m.Headers {
		if err := checkHeaderName(k); err != nil {
			return nil, "", err
		}
		h[k] = []string{encodeValue(v)}
	}
	if m.Headers[stream.HeaderContentType] == "" && contentType != "" {
		h[stream.HeaderContentType] = []string{encodeValue(contentType)}
	}
	id := m.Headers[stream.HeaderID]
	if id == "" {
		id = newID()
		h[stream.HeaderID] = []string{id}
	} else {
		// Nats-Msg-Id is the id as it travels (encodeValue is one to
		// one): NATS folds a line break into a space and trims white
		// space, so "a\nb" and "a b" would be one id to JetStream's
		// de-duplication, and the second message dropped as a duplicate.
		id = h[stream.HeaderID][0]
	}
	if len(m.Key) > 0 && string(m.Key) != m.Headers[keyHeader] {
		h[keyHeader] = []string{encodeKey(m.Key)}
	}
	return h, id, nil
}

// encodeKey writes a key as a header value; keys that are not valid UTF-8
// travel base64-encoded in an encoded word too.
func encodeKey(k []byte) string {
	if !utf8.Valid(k) {
		return encPrefix + base64.StdEncoding.EncodeToString(k) + encSuffix
	}
	return encodeValue(string(k))
}

// fromMsg converts a received message: its headers (decoded, the first
// value of each, JetStream's own Nats-* headers left out), the key, and the
// payload (not copied: nats.go does not reuse it).
func fromMsg(h natsgo.Header, data []byte) stream.Envelope {
	var env stream.Envelope
	fillEnv(&env, h, data)
	return env
}

// fillEnv is fromMsg into *env, which must be the zero Envelope: accept
// fills a held record's envelope in place rather than copying one (a
// struct of some 200 bytes, with write barriers while the collector
// marks) on every message's path.
func fillEnv(env *stream.Envelope, h natsgo.Header, data []byte) {
	env.Payload = data
	if len(h) == 0 {
		return
	}
	env.Headers = lazyHeaders(h).Load()
	env.Key = keyOf(h)
}

// fillEnvLazy is fillEnv for a handler that reads headers through
// Envelope.Header and LoadHeaders (ConsumerSpec.LazyHeaders): the headers
// stay nats.go's, read on demand, and no map is made for a message.
func fillEnvLazy(env *stream.Envelope, h natsgo.Header, data []byte) {
	env.Payload = data
	if len(h) == 0 {
		return
	}
	env.SetLazyHeaders(lazyHeaders(h))
	env.Key = keyOf(h)
}

// keyOf returns the message key the key header carries, nil when none.
func keyOf(h natsgo.Header) []byte {
	if vs := h[keyHeader]; len(vs) > 0 {
		return []byte(decodeValue(vs[0]))
	}
	return nil
}

// lazyHeaders are a message's headers as nats.go parsed them, read as the
// binder's stream.Headers: a header's first value, decoded (decodeValue);
// the Nats-* headers and the key header are not among them. nats.go makes
// the map for the message alone and never changes it, so it reads the
// same for as long as anything uses the message.
type lazyHeaders natsgo.Header

func (h lazyHeaders) Lookup(k string) (string, bool) {
	vs := h[k]
	if len(vs) == 0 || k == keyHeader || strings.HasPrefix(k, "Nats-") {
		return "", false
	}
	return decodeValue(vs[0]), true
}

func (h lazyHeaders) Load() stream.Headers {
	m := make(stream.Headers, len(h))
	for k, vs := range h {
		if len(vs) == 0 || k == keyHeader || strings.HasPrefix(k, "Nats-") {
			continue
		}
		m[k] = decodeValue(vs[0])
	}
	return m
}
