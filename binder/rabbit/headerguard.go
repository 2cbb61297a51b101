package rabbit

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	amqp "github.com/rabbitmq/amqp091-go"
)

// UndecodableHeaders is the header the binder adds to a received message
// some of whose headers the AMQP client could not decode (see
// headerGuard): it names each such header and why; their values are
// replaced by a text saying so, or, for a message with more headers than
// the client decodes, the last ones are dropped.
const UndecodableHeaders = "x-streambind-undecodable-headers"

// amqp091-go's limits on the field tables it decodes (v1.16 read.go:
// maxFieldDepth, maxContainerElements). RabbitMQ accepts, stores and
// delivers headers beyond them.
const (
	clientMaxFieldDepth = 32
	clientMaxElements   = 8192
)

const (
	frameTypeHeader = 2
	frameEnd        = 0xCE
	// guardMaxFrame: a content-header frame larger than this (or than
	// frame_max, once known) is passed on unread (amqp091-go refuses
	// frames over frame_max anyway).
	guardMaxFrame = 16 << 20
)

// headerGuard sits between the broker and amqp091-go's frame reader on
// every connection and rewrites the content-header frames whose headers
// amqp091-go would refuse to decode. amqp091-go fails the whole
// connection on such a frame (501 FRAME_ERROR "syntax error"), and the
// broker then redelivers the message on the next connection, and the next:
// one message published by another client with headers nested more than
// 32 tables or arrays deep, or with a table or array of more than 8192
// entries (RabbitMQ accepts both), stopped every consumer of the binder
// for good, reconnecting a few times a second. Such a header's value is
// replaced by a text saying why, or, when the message has more than 8192
// headers, the last ones are dropped, and the header UndecodableHeaders
// says what was done: the message is delivered and settled as any other.
// Every other frame is passed on as it is, parsed no further than its
// header; its bytes do pass through the guard's read buffer (one more
// memory copy, none for reads as large as that buffer), and a content
// header is copied whole, to be checked before any of it is handed on.
type headerGuard struct {
	net.Conn
	br *bufio.Reader
	// out is what is handed out before the next frame is read: a frame
	// header passed on, or a whole content-header frame.
	out []byte
	// left is how much of the current frame (payload and frame end) is
	// still to be passed on as it is.
	left int64
	hdr  [7]byte
	buf  []byte
	// maxPayload is frame_max less the frame's header and end once the
	// connection is open (0 until then: a rewritten frame is then no
	// larger than the broker's).
	maxPayload atomic.Int64
	// rewritten counts the frames rewritten (tests).
	rewritten atomic.Int64
}

func newHeaderGuard(c net.Conn) *headerGuard {
	return &headerGuard{Conn: c, br: bufio.NewReaderSize(c, 32<<10)}
}

// ConnectionState is the TLS state of the connection guarded, the zero
// value without TLS (amqp091-go's Connection.ConnectionState asks for it).
func (g *headerGuard) ConnectionState() tls.ConnectionState {
	if c, ok := g.Conn.(interface{ ConnectionState() tls.ConnectionState }); ok {
		return c.ConnectionState()
	}
	return tls.ConnectionState{}
}

// setFrameMax sets the connection's negotiated frame_max.
func (g *headerGuard) setFrameMax(fm int) {
	if fm > 8 {
		g.maxPayload.Store(int64(fm - 8))
	}
}

func (g *headerGuard) Read(p []byte) (n int, err error) {
	for n < len(p) {
		if len(g.out) > 0 {
			m := copy(p[n:], g.out)
			g.out = g.out[m:]
			n += m
			continue
		}
		if n > 0 && g.br.Buffered() == 0 {
			break // no waiting for more while holding bytes for the caller
		}
		if g.left > 0 {
			q := p[n:]
			if int64(len(q)) > g.left {
				q = q[:g.left]
			}
			m, err := g.br.Read(q)
			n += m
			g.left -= int64(m)
			if err != nil {
				return n, err
			}
			continue
		}
		if n > 0 {
			// A frame starts: read it only if it is here in full.
			if g.br.Buffered() < len(g.hdr) {
				break
			}
			h, _ := g.br.Peek(len(g.hdr))
			if h[0] == frameTypeHeader && g.br.Buffered() < len(g.hdr)+int(binary.BigEndian.Uint32(h[3:]))+1 {
				break
			}
		}
		if err := g.next(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// next reads the header of the next frame and, when it is a content
// header, the whole frame, rewritten if need be.
func (g *headerGuard) next() error {
	if _, err := io.ReadFull(g.br, g.hdr[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(g.hdr[3:])
	// A frame over frame_max is passed on unread too: amqp091-go refuses
	// it by its header, and its length, however large, allocates nothing.
	mp := g.maxPayload.Load()
	if g.hdr[0] != frameTypeHeader || size > guardMaxFrame || mp > 0 && int64(size) > mp {
		g.out, g.left = g.hdr[:], int64(size)+1
		return nil
	}
	need := len(g.hdr) + int(size) + 1
	if cap(g.buf) < need {
		g.buf = make([]byte, need)
	}
	f := g.buf[:need]
	copy(f, g.hdr[:])
	if _, err := io.ReadFull(g.br, f[len(g.hdr):]); err != nil {
		return err
	}
	if nf, ok := guardHeaderFrame(f, int(g.maxPayload.Load())); ok {
		g.rewritten.Add(1)
		f = nf
	}
	g.out = f
	return nil
}

// guardHeaderFrame returns content-header frame f with its headers made
// decodable by amqp091-go, and true, or false when they are (or f is not
// a content header of the form expected: amqp091-go judges it).
// maxPayload bounds the new frame's payload (0: the old one's size).
func guardHeaderFrame(f []byte, maxPayload int) ([]byte, bool) {
	p := f[7 : len(f)-1]
	if len(p) < 14 {
		return nil, false
	}
	flags := binary.BigEndian.Uint16(p[12:])
	const (
		flagContentType     = 0x8000
		flagContentEncoding = 0x4000
		flagHeaders         = 0x2000
	)
	if flags&flagHeaders == 0 {
		return nil, false
	}
	off := 14
	for _, fl := range []uint16{flagContentType, flagContentEncoding} {
		if flags&fl != 0 {
			if off >= len(p) {
				return nil, false
			}
			off += 1 + int(p[off])
		}
	}
	if off+4 > len(p) {
		return nil, false
	}
	end := off + 4 + int(binary.BigEndian.Uint32(p[off:]))
	if end > len(p) || end < off+4 {
		return nil, false
	}
	t := p[off+4 : end]
	// The common case, without allocating: every header decodes.
	if problem, ok := scanContainer(t, 0, true); !ok || problem == "" {
		return nil, false
	}
	ents, ok := topEntries(t)
	if !ok {
		return nil, false
	}
	if maxPayload <= 0 {
		maxPayload = len(p)
	}
	table := rebuildHeaders(ents, maxPayload-(len(p)-len(t)))
	if table == nil {
		return nil, false
	}
	np := make([]byte, 0, off+4+len(table)+len(p)-end)
	np = append(np, p[:off]...)
	np = binary.BigEndian.AppendUint32(np, uint32(len(table)))
	np = append(np, table...)
	np = append(np, p[end:]...)
	nf := make([]byte, 0, 7+len(np)+1)
	nf = append(nf, f[:3]...)
	nf = binary.BigEndian.AppendUint32(nf, uint32(len(np)))
	nf = append(nf, np...)
	return append(nf, frameEnd), true
}

// headerEntry is one entry of a headers table as received.
type headerEntry struct {
	key     []byte
	raw     []byte // the whole entry: key, type and value
	problem string // why amqp091-go cannot decode the value; "" when it can
}

// topEntries splits the headers table t (without its length) into its
// entries; ok is false when t is malformed.
func topEntries(t []byte) (ents []headerEntry, ok bool) {
	for i := 0; i < len(t); {
		kl := int(t[i])
		v := i + 1 + kl
		if v > len(t) {
			return nil, false
		}
		n, problem, ok := scanField(t[v:], 0)
		if !ok {
			return nil, false
		}
		ents = append(ents, headerEntry{key: t[i+1 : v], raw: t[i : v+n], problem: problem})
		i = v + n
	}
	return ents, true
}

// tableTooMany reports whether amqp091-go refuses the table c (without
// its length; its entries are well formed) for its size: it fails an
// entry read when the table has clientMaxElements keys already (a
// repeated key replaces the earlier).
func tableTooMany(c []byte) bool {
	seen := make(map[string]struct{}, clientMaxElements)
	for i := 0; i < len(c); {
		k := c[i+1 : i+1+int(c[i])]
		i += 1 + int(c[i])
		n, _, _ := scanField(c[i:], clientMaxFieldDepth) // deep: only measured
		i += n
		if i >= len(c) {
			return false // k is the last entry's
		}
		seen[string(k)] = struct{}{}
		if len(seen) >= clientMaxElements {
			return true
		}
	}
	return false
}

// scanField measures the field value (type octet and value) at the start
// of b, which is nested depth containers deep, and says why amqp091-go
// cannot decode it ("" when it can); ok is false when b is malformed.
func scanField(b []byte, depth int) (n int, problem string, ok bool) {
	if len(b) == 0 {
		return 0, "", false
	}
	size := 0
	switch b[0] {
	case 'V':
	case 't', 'b', 'B':
		size = 1
	case 's', 'u':
		size = 2
	case 'I', 'i', 'f':
		size = 4
	case 'D':
		size = 5
	case 'l', 'd', 'T':
		size = 8
	case 'S', 'x', 'F', 'A':
		if len(b) < 5 {
			return 0, "", false
		}
		l := binary.BigEndian.Uint32(b[1:])
		if l > uint32(len(b)-5) {
			return 0, "", false
		}
		size = 4 + int(l)
		switch b[0] {
		case 'F':
			problem, ok = scanContainer(b[5:5+l], depth+1, true)
		case 'A':
			problem, ok = scanContainer(b[5:5+l], depth+1, false)
		default:
			ok = true
		}
		if !ok {
			return 0, "", false
		}
	default:
		return 0, "", false
	}
	if 1+size > len(b) {
		return 0, "", false
	}
	return 1 + size, problem, true
}

// scanContainer checks the entries of a table (keyed) or the elements of
// an array c (without its length) nested depth deep.
func scanContainer(c []byte, depth int, keyed bool) (problem string, ok bool) {
	if depth > clientMaxFieldDepth {
		return fmt.Sprintf("tables or arrays nested more than %d deep", clientMaxFieldDepth), true
	}
	count := 0
	for i := 0; i < len(c); {
		if keyed {
			i += 1 + int(c[i])
			if i > len(c) {
				return "", false
			}
		}
		n, p, ok := scanField(c[i:], depth)
		if !ok {
			return "", false
		}
		if p != "" && problem == "" {
			problem = p
		}
		i += n
		count++
	}
	switch {
	case problem != "":
		return problem, true
	case count <= clientMaxElements:
		return "", true
	case !keyed:
		return fmt.Sprintf("an array of more than %d elements", clientMaxElements), true
	case tableTooMany(c):
		return fmt.Sprintf("a table of more than %d entries", clientMaxElements), true
	}
	return "", true
}

// rebuildHeaders is a headers table amqp091-go decodes, of encoded size
// (with its length) at most maxBytes, nil when none fits: the entries of
// ents with each undecodable value replaced by a text saying why (or
// void, to fit), only as many keys as amqp091-go takes (with one more:
// UndecodableHeaders, which says which were replaced or dropped). The
// binder's own headers (the key, the correlation of a returned publish)
// and x-death are kept; of the others, the first keys. (The broker's
// dead-lettering reads the x-death it stored: the binder must see
// whether it was replaced, see guardReplaced, not find it gone.)
func rebuildHeaders(ents []headerEntry, maxBytes int) []byte {
	own := func(e headerEntry) bool {
		k := string(e.key)
		return k == keyHeader || k == pubHeader || k == "x-death"
	}
	kept := make([]bool, len(ents))
	seen := make(map[string]struct{}, min(len(ents), clientMaxElements))
	room := clientMaxElements - 1
	for _, e := range ents {
		if own(e) {
			if _, ok := seen[string(e.key)]; !ok {
				seen[string(e.key)] = struct{}{}
				room--
			}
		}
	}
	dropped := 0
	for i, e := range ents {
		if _, ok := seen[string(e.key)]; !ok { // a repeated key takes no room
			if room == 0 {
				dropped++
				continue
			}
			seen[string(e.key)] = struct{}{}
			room--
		}
		kept[i] = true
	}
	var notes []string
	for i, e := range ents {
		if kept[i] && e.problem != "" {
			notes = append(notes, fmt.Sprintf("%s: %s", e.key, e.problem))
		}
	}
	if dropped > 0 {
		notes = append(notes, fmt.Sprintf("%d headers, more than %d: %d dropped", len(ents), clientMaxElements-1, dropped))
	}
	note := strings.Join(notes, "; ")
	// size is what entry e takes in the table built.
	size := func(e headerEntry, describe bool) int {
		switch {
		case e.problem == "":
			return len(e.raw)
		case describe:
			return 1 + len(e.key) + 5 + len(describeProblem(e.problem))
		}
		return 1 + len(e.key) + 1
	}
	build := func(describe bool, note string) []byte {
		n := 4 + 1 + len(UndecodableHeaders) + 5 + len(note)
		for i, e := range ents {
			if kept[i] {
				n += size(e, describe)
			}
		}
		if n > maxBytes {
			return nil
		}
		t := make([]byte, 0, n-4)
		for i, e := range ents {
			switch {
			case !kept[i]:
			case e.problem == "":
				t = append(t, e.raw...)
			default:
				t = append(t, byte(len(e.key)))
				t = append(t, e.key...)
				if describe {
					t = appendLongstr(t, describeProblem(e.problem))
				} else {
					t = append(t, 'V')
				}
			}
		}
		t = append(t, byte(len(UndecodableHeaders)))
		t = append(t, UndecodableHeaders...)
		return appendLongstr(t, note)
	}
	if t := build(true, truncUTF8(note, 2048)); t != nil {
		return t
	}
	// Too large for the frame (a header frame near frame_max): void
	// values, and as much of the note as fits.
	n := 4 + 1 + len(UndecodableHeaders) + 5
	for i, e := range ents {
		if kept[i] {
			n += size(e, false)
		}
	}
	if n <= maxBytes {
		return build(false, truncUTF8(note, maxBytes-n))
	}
	// Only when headers are dropped anyway: drop more, the last first.
	for i := len(ents) - 1; i >= 0 && n > maxBytes; i-- {
		if kept[i] && !own(ents[i]) {
			kept[i] = false
			n -= size(ents[i], false)
		}
	}
	return build(false, "")
}

// describeProblem is the text that replaces a header value amqp091-go
// cannot decode.
func describeProblem(problem string) string {
	return undecodablePrefix + problem + "; see header " + UndecodableHeaders + ")"
}

const undecodablePrefix = "(value not decodable: "

// guardReplaced reports whether the value of header k of delivered
// headers h is the guard's stand-in for one amqp091-go could not decode
// (a text saying why, or void where that did not fit): the broker still
// has the original value. A client's own value of that form, with the
// guard's header beside it, is taken for one too.
func guardReplaced(h amqp.Table, k string) bool {
	if _, ok := h[UndecodableHeaders]; !ok {
		return false
	}
	v, ok := h[k]
	if !ok {
		return false
	}
	s, isText := v.(string)
	return v == nil || isText && strings.HasPrefix(s, undecodablePrefix)
}

func appendLongstr(b []byte, s string) []byte {
	b = append(b, 'S')
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// truncUTF8 is s cut to at most n bytes, not inside a UTF-8 sequence.
func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
