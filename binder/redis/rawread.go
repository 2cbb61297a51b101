package redis

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// Intake's reads of new entries (readNew) go over the reader's connection
// without go-redis's reply parsing: go-redis turns each entry into a
// map[string]any of its fields, a string allocated for each field name and
// value and each value boxed (about 13 allocations and 730 B an entry,
// 1 µs of client CPU in BenchmarkRedisConsume), which decode then turned
// into the message. respConn writes the XACKs and XREADGROUPs itself and
// reads the replies into one buffer; each entry becomes one string (its
// RESP bytes) that the message's ID, payload and header values are
// slices of (decodeRESP). go-redis still opens the connection (dial, TLS,
// HELLO, AUTH, SELECT) and runs use's CLIENT ID and an anonymous
// consumer's XREAD on it (the group's other reads go over the binder's
// client); both leave it between replies, never in the middle of one. A reply respConn cannot read (a lost connection, a timeout, a
// reply it does not expect) is an error, after which intake drops the
// connection, as after a failed go-redis read.

// respBufSize is the initial size of respConn's buffers; respBufKeep is
// the size above which a buffer grown for a large reply is not kept.
const (
	respBufSize = 32 << 10
	respBufKeep = 1 << 20
)

// respShareMax is the size of the largest entry whose ID and header
// names and values are slices of its RESP bytes (see decodeRESP): a
// handler keeping one of them (an idempotency store keeps IDs) keeps the
// whole entry, its payload included, so a larger entry's are copies.
const respShareMax = 512

// respConn reads and writes RESP on one connection (the reader's, whose
// go-redis client is idle meanwhile). Intake only.
type respConn struct {
	conn net.Conn
	in   []byte // read from conn; parsed up to pos
	pos  int
	out  []byte
	offs []rawOff // the entries of the reply being read
}

// rawOff locates an entry in respConn.in: its RESP bytes from start to
// end, its ID from id to idEnd; deleted: no fields (a pending entry
// deleted from its stream).
type rawOff struct {
	start, id, idEnd, end int
	deleted               bool
}

// rawStream is the entries of one stream in an XREADGROUP reply.
type rawStream struct {
	key  string
	ents []rawEntry
}

// rawEntry is an entry as read: its ID and RESP bytes (see decodeRESP),
// "" when deleted.
type rawEntry struct {
	id, resp string
}

// replyError is an error reply of the server, as go-redis's
// (redisError finds it in a chain).
type replyError string

func (e replyError) Error() string { return string(e) }

// RedisError marks replyError a goredis.Error.
func (replyError) RedisError() {}

// errNilReply is a null reply (a read that found nothing).
var errNilReply = errors.New("redis: nil reply")

func appendArray(b []byte, n int) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

func appendBulk(b []byte, s string) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, '\r', '\n')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

func appendBulkInt(b []byte, n int64) []byte {
	var num [20]byte
	return appendBulk(b, string(strconv.AppendInt(num[:0], n, 10)))
}

// appendXReadGroup appends XREADGROUP GROUP group consumer COUNT count
// [BLOCK ms] STREAMS streams... (as go-redis writes it: no BLOCK when
// block is negative).
func appendXReadGroup(b []byte, group, consumer string, count int64, block time.Duration, streams []string) []byte {
	n := 7 + len(streams)
	if block >= 0 {
		n += 2
	}
	b = appendArray(b, n)
	b = appendBulk(b, "XREADGROUP")
	b = appendBulk(b, "GROUP")
	b = appendBulk(b, group)
	b = appendBulk(b, consumer)
	b = appendBulk(b, "COUNT")
	b = appendBulkInt(b, count)
	if block >= 0 {
		b = appendBulk(b, "BLOCK")
		b = appendBulkInt(b, int64(block/time.Millisecond))
	}
	b = appendBulk(b, "STREAMS")
	for _, s := range streams {
		b = appendBulk(b, s)
	}
	return b
}

// appendXAcks appends the XACKs of es (as queueAcks: one a stream and
// ackBatch entries) and returns how many commands it appended.
func appendXAcks(b []byte, group string, es []*entry) ([]byte, int) {
	keys := []string{es[0].key}
	for _, e := range es {
		if !containsString(keys, e.key) {
			keys = append(keys, e.key)
		}
	}
	cmds := 0
	for _, k := range keys {
		n := 0
		for _, e := range es {
			if e.key == k {
				n++
			}
		}
		for done := 0; done < n; {
			batch := min(n-done, ackBatch)
			b = appendArray(b, 3+batch)
			b = appendBulk(b, "XACK")
			b = appendBulk(b, k)
			b = appendBulk(b, group)
			seen := 0
			for _, e := range es {
				if e.key != k {
					continue
				}
				if seen >= done && seen < done+batch {
					b = appendBulk(b, e.id)
				}
				seen++
			}
			done += batch
			cmds++
		}
	}
	return b, cmds
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// reset forgets the connection and what was read or queued on it.
func (p *respConn) reset() {
	p.conn = nil
	p.in, p.out, p.pos = p.in[:0], p.out[:0], 0
}

// send writes the commands in p.out, bounded by writeTimeout, and sets
// the read deadline of their replies (none for 0).
func (p *respConn) send(writeTimeout, readTimeout time.Duration) error {
	now := time.Now()
	if err := p.conn.SetWriteDeadline(now.Add(writeTimeout)); err != nil {
		return err
	}
	var rd time.Time
	if readTimeout > 0 {
		rd = now.Add(readTimeout)
	}
	if err := p.conn.SetReadDeadline(rd); err != nil {
		return err
	}
	_, err := p.conn.Write(p.out)
	p.out = p.out[:0]
	return err
}

// fill reads more bytes from the connection.
func (p *respConn) fill() error {
	if len(p.in) == cap(p.in) {
		nb := make([]byte, len(p.in), max(2*cap(p.in), respBufSize))
		copy(nb, p.in)
		p.in = nb
	}
	n, err := p.conn.Read(p.in[len(p.in):cap(p.in)])
	p.in = p.in[:len(p.in)+n]
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// done checks that every byte read was parsed (the replies end where the
// requests' last one does) and empties the buffer.
func (p *respConn) done() error {
	if p.pos != len(p.in) {
		return fmt.Errorf("redis: %d unexpected bytes after the replies", len(p.in)-p.pos)
	}
	p.pos = 0
	p.in = p.in[:0]
	if cap(p.in) > respBufKeep {
		p.in = nil
	}
	if cap(p.out) > respBufKeep {
		p.out = nil
	}
	return nil
}

// line returns the offsets of the next line (CRLF left out).
func (p *respConn) line() (int, int, error) {
	from := p.pos
	for {
		if i := bytes.IndexByte(p.in[from:], '\n'); i >= 0 {
			end := from + i
			if end == p.pos || p.in[end-1] != '\r' {
				return 0, 0, errors.New("redis: malformed reply line")
			}
			s := p.pos
			p.pos = end + 1
			return s, end - 1, nil
		}
		from = len(p.in)
		if err := p.fill(); err != nil {
			return 0, 0, err
		}
	}
}

// header reads the next reply's type and length (count, or integer).
// A null (RESP2 *-1 or $-1, RESP3 _) is errNilReply, an error reply a
// replyError.
func (p *respConn) header() (byte, int, error) {
	s, e, err := p.line()
	if err != nil {
		return 0, 0, err
	}
	if s == e {
		return 0, 0, errors.New("redis: empty reply line")
	}
	t := p.in[s]
	switch t {
	case '-':
		return t, 0, replyError(p.in[s+1 : e])
	case '_':
		return t, 0, errNilReply
	case '!': // RESP3 blob error
		n, err := parseLen(p.in[s+1 : e])
		if err != nil {
			return 0, 0, err
		}
		bs, be, err := p.bulk(n)
		if err != nil {
			return 0, 0, err
		}
		return t, 0, replyError(p.in[bs:be])
	case '*', '%', '$', ':':
		n, err := parseLen(p.in[s+1 : e])
		if err != nil {
			return 0, 0, err
		}
		if n < 0 && t != ':' {
			return t, 0, errNilReply
		}
		return t, n, nil
	}
	return 0, 0, fmt.Errorf("redis: unexpected reply type %q", t)
}

// maxBulk is the longest bulk string respConn reads: Redis's own
// proto-max-bulk-len default (512 MB).
const maxBulk = 512 << 20

// parseLen parses a RESP length or integer.
func parseLen(b []byte) (int, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, errors.New("redis: malformed reply length")
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errors.New("redis: malformed reply length")
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

// bulk reads the n bytes of a bulk string and its CRLF and returns their
// offsets.
func (p *respConn) bulk(n int) (int, int, error) {
	if n < 0 || n > maxBulk {
		// A server sends neither (a null is not read here): not a reply
		// to read, and a length this large would grow the buffer without
		// bound.
		return 0, 0, fmt.Errorf("redis: malformed bulk string length %d", n)
	}
	for len(p.in)-p.pos < n+2 {
		if err := p.fill(); err != nil {
			return 0, 0, err
		}
	}
	s := p.pos
	if p.in[s+n] != '\r' || p.in[s+n+1] != '\n' {
		return 0, 0, errors.New("redis: malformed bulk string")
	}
	p.pos = s + n + 2
	return s, s + n, nil
}

// expect reads a header of type t (a count or a length) and returns n.
func (p *respConn) expect(t byte) (int, error) {
	got, n, err := p.header()
	if err != nil {
		return 0, err
	}
	if got != t {
		return 0, fmt.Errorf("redis: unexpected reply type %q (want %q)", got, t)
	}
	return n, nil
}

// readInt reads an integer reply (XACK's); an error reply is returned as
// a replyError.
func (p *respConn) readInt() error {
	_, err := p.expect(':')
	return notNull(err)
}

// errNullInside: a null where a reply has none (errNilReply is only a
// whole reply's).
var errNullInside = errors.New("redis: unexpected null in a reply")

// notNull is err, a null (errNilReply) made errNullInside.
func notNull(err error) error {
	if errors.Is(err, errNilReply) {
		return errNullInside
	}
	return err
}

// readStreams reads an XREADGROUP reply (RESP2: an array of [key,
// entries]; RESP3: a map of key to entries), appending to streams (its
// entries' slices reused). keys are the stream keys read: a reply's key
// is one of them, without an allocation. A null reply is errNilReply.
func (p *respConn) readStreams(streams []rawStream, keys []string) ([]rawStream, error) {
	t, n, err := p.header()
	if err != nil {
		return streams, err
	}
	if t != '*' && t != '%' {
		return streams, fmt.Errorf("redis: unexpected reply type %q to XREADGROUP", t)
	}
	streams, err = p.readStreamList(streams, keys, t, n)
	return streams, notNull(err)
}

// readStreamList reads the n streams of an XREADGROUP reply of type t
// (see readStreams).
func (p *respConn) readStreamList(streams []rawStream, keys []string, t byte, n int) ([]rawStream, error) {
	for range n {
		if t == '*' {
			if m, err := p.expect('*'); err != nil {
				return streams, err
			} else if m != 2 {
				return streams, fmt.Errorf("redis: XREADGROUP reply: a stream of %d elements", m)
			}
		}
		kl, err := p.expect('$')
		if err != nil {
			return streams, err
		}
		ks, ke, err := p.bulk(kl)
		if err != nil {
			return streams, err
		}
		m, err := p.expect('*')
		if errors.Is(err, errNilReply) {
			m, err = 0, nil
		}
		if err != nil {
			return streams, err
		}
		p.offs = p.offs[:0]
		for range m {
			o := rawOff{start: p.pos}
			if two, err := p.expect('*'); err != nil {
				return streams, err
			} else if two != 2 {
				return streams, fmt.Errorf("redis: XREADGROUP reply: an entry of %d elements", two)
			}
			il, err := p.expect('$')
			if err != nil {
				return streams, err
			}
			if o.id, o.idEnd, err = p.bulk(il); err != nil {
				return streams, err
			}
			f, err := p.expect('*')
			if errors.Is(err, errNilReply) {
				o.deleted, err = true, nil
			}
			if err != nil {
				return streams, err
			}
			if f%2 != 0 {
				// Fields are name-value pairs: an odd count is no
				// entry Redis sends, and decoding would drop the last.
				return streams, fmt.Errorf("redis: XREADGROUP reply: an entry of %d field elements", f)
			}
			for range f {
				l, err := p.expect('$')
				if err != nil {
					return streams, err
				}
				if _, _, err := p.bulk(l); err != nil {
					return streams, err
				}
			}
			o.end = p.pos
			p.offs = append(p.offs, o)
		}
		// The strings, now that the buffer no longer moves.
		var s *rawStream
		if len(streams) < cap(streams) {
			streams = streams[:len(streams)+1]
		} else {
			streams = append(streams, rawStream{})
		}
		s = &streams[len(streams)-1]
		s.key = ""
		for _, k := range keys {
			if string(p.in[ks:ke]) == k {
				s.key = k
				break
			}
		}
		if s.key == "" {
			s.key = string(p.in[ks:ke])
		}
		s.ents = s.ents[:0]
		for _, o := range p.offs {
			if o.deleted {
				s.ents = append(s.ents, rawEntry{id: string(p.in[o.id:o.idEnd])})
				continue
			}
			resp := string(p.in[o.start:o.end])
			id := resp[o.id-o.start : o.idEnd-o.start]
			if len(resp) > respShareMax {
				id = string(p.in[o.id:o.idEnd])
			}
			s.ents = append(s.ents, rawEntry{id: id, resp: resp})
		}
	}
	return streams, nil
}

// respWalk walks an entry's RESP bytes, as readStreams checked them
// (*2, the ID, an array of field names and values).
type respWalk struct {
	s   string
	pos int
}

// count reads a *n or $n header.
func (w *respWalk) count() int {
	n := 0
	w.pos++
	for w.s[w.pos] != '\r' {
		n = n*10 + int(w.s[w.pos]-'0')
		w.pos++
	}
	w.pos += 2
	return n
}

// bulk reads a bulk string.
func (w *respWalk) bulk() string {
	n := w.count()
	v := w.s[w.pos : w.pos+n]
	w.pos += n + 2
	return v
}

// fields skips the entry's header and ID and returns how many fields
// follow.
func (w *respWalk) fields() int {
	w.count() // *2
	w.bulk()  // the ID
	return w.count() / 2
}
