package rabbit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
)

// Hand-made AMQP encodings for the guard's tests (amqp091-go's writer is
// not exported).
func encFrame(typ byte, ch uint16, payload []byte) []byte {
	f := []byte{typ, byte(ch >> 8), byte(ch)}
	f = binary.BigEndian.AppendUint32(f, uint32(len(payload)))
	f = append(f, payload...)
	return append(f, frameEnd)
}

func encEntry(key string, value []byte) []byte {
	return append(append([]byte{byte(len(key))}, key...), value...)
}

func encLong(typ byte, content []byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{typ}, uint32(len(content)))
	return append(b, content...)
}

func encDeepTable(depth int) []byte {
	v := encLong('S', []byte("leaf"))
	for range depth {
		v = encLong('F', encEntry("n", v))
	}
	return v
}

// encHeaderFrame is a content header with content type ct and the given
// encoded table entries as headers.
func encHeaderFrame(ct string, entries ...[]byte) []byte {
	p := []byte{0, 60, 0, 0}
	p = binary.BigEndian.AppendUint64(p, 5)
	p = append(p, 0xA0, 0x00) // content-type, headers
	p = append(p, byte(len(ct)))
	p = append(p, ct...)
	p = append(p, encLong('F', bytes.Join(entries, nil))[1:]...)
	return encFrame(frameTypeHeader, 1, p)
}

type readerConn struct {
	net.Conn
	r io.Reader
}

func (c readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// TestHeaderGuardStream: the guard passes every frame on byte for byte
// but a content header amqp091-go cannot decode, which it replaces by the
// rewritten one (no larger), whatever pieces the socket delivers the
// stream in and the reader asks for.
func TestHeaderGuardStream(t *testing.T) {
	bad := encHeaderFrame("text/plain", encEntry(strings.Repeat("d", 255), encDeepTable(clientMaxFieldDepth+1)), encEntry("keep", encLong('S', []byte("me"))))
	good := encHeaderFrame("text/plain", encEntry("t", encDeepTable(clientMaxFieldDepth)))
	fixed, ok := guardHeaderFrame(bad, 0)
	if !ok {
		t.Fatal("the deep header was not rewritten")
	}
	if len(fixed) > len(bad) {
		t.Errorf("rewritten frame of %d bytes, the broker's had %d", len(fixed), len(bad))
	}
	if _, ok := guardHeaderFrame(good, 0); ok {
		t.Fatal("headers at the depth limit were rewritten")
	}
	if !bytes.Contains(fixed, []byte("keep")) || !bytes.Contains(fixed, []byte(UndecodableHeaders)) {
		t.Errorf("rewritten frame %q", fixed)
	}
	method := encFrame(1, 1, bytes.Repeat([]byte{7}, 40))
	body := encFrame(3, 1, []byte("hello"))
	heartbeat := encFrame(8, 0, nil)
	big := encFrame(3, 1, bytes.Repeat([]byte{1}, 100_000))
	in := bytes.Join([][]byte{method, bad, body, heartbeat, good, body, big, bad, method}, nil)
	want := bytes.Join([][]byte{method, fixed, body, heartbeat, good, body, big, fixed, method}, nil)
	for _, src := range []struct {
		name string
		r    func() io.Reader
	}{
		{"whole", func() io.Reader { return bytes.NewReader(in) }},
		{"one byte", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(in)) }},
		{"halves", func() io.Reader { return iotest.HalfReader(bytes.NewReader(in)) }},
	} {
		for _, size := range []int{1, 3, 7, 4096, 1 << 20} {
			g := newHeaderGuard(readerConn{r: src.r()})
			var out []byte
			buf := make([]byte, size)
			for {
				n, err := g.Read(buf)
				out = append(out, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s, reads of %d: %v", src.name, size, err)
				}
			}
			if !bytes.Equal(out, want) {
				t.Errorf("%s, reads of %d: %d bytes out, want %d", src.name, size, len(out), len(want))
			}
		}
	}
}

// TestHeaderGuardFitsFrame: a rewritten frame stays within frame_max: the
// texts are left out, then the last headers, when they do not fit.
func TestHeaderGuardFitsFrame(t *testing.T) {
	deep := encEntry("deep", encDeepTable(clientMaxFieldDepth+1))
	bad := encHeaderFrame("", deep, encEntry("keep", encLong('S', []byte("me"))))
	for _, max := range []int{len(bad) - 8, len(bad) - 8 - 60} {
		f, ok := guardHeaderFrame(bad, max)
		if !ok || len(f)-8 > max {
			t.Errorf("max payload %d: %v, %d bytes", max, ok, len(f)-8)
			continue
		}
		ents, ok := topEntries(f[7+14+1+4 : len(f)-1])
		if !ok {
			t.Fatalf("max payload %d: rewritten table malformed", max)
		}
		for _, e := range ents {
			if e.problem != "" {
				t.Errorf("max payload %d: %s still undecodable", max, e.key)
			}
		}
	}
}

// TestHeaderGuardKeepsOwnHeaders: of a message with more headers than
// amqp091-go takes, the binder's own (the key, the correlation of a
// returned publish, wherever they are) and x-death (which the broker's
// dead-lettering reads, xDeathUnsafe) are kept, and the table then
// decodes: at most clientMaxElements keys.
func TestHeaderGuardKeepsOwnHeaders(t *testing.T) {
	var entries [][]byte
	for i := range clientMaxElements + 10 {
		entries = append(entries, encEntry(fmt.Sprintf("k%05d", i), []byte{'V'}))
	}
	entries = append(entries, encEntry("k00001", []byte{'V'}), encEntry(keyHeader, encLong('S', []byte("k"))), encEntry(pubHeader, encLong('S', []byte("c1"))),
		encEntry("x-death", encLong('A', encLong('S', []byte("not a table")))))
	f, ok := guardHeaderFrame(encHeaderFrame("", entries...), 1<<20)
	if !ok {
		t.Fatal("not rewritten")
	}
	ents, ok := topEntries(f[7+14+1+4 : len(f)-1])
	if !ok {
		t.Fatal("rewritten table malformed")
	}
	keys := map[string]bool{}
	for _, e := range ents {
		keys[string(e.key)] = true
	}
	if !keys[keyHeader] || !keys[pubHeader] || !keys["x-death"] || !keys[UndecodableHeaders] || len(keys) != clientMaxElements {
		t.Errorf("%d keys; %s %v, %s %v, x-death %v", len(keys), keyHeader, keys[keyHeader], pubHeader, keys[pubHeader], keys["x-death"])
	}
}

// TestHeaderGuardOverFrameMaxUnread: a content header longer than
// frame_max is passed on as it comes, as any other frame, for amqp091-go
// to refuse by its header: the guard neither waits for the whole of it
// nor allocates what its length says (a 16 MiB buffer per connection
// before, then an EOF with nothing handed on).
func TestHeaderGuardOverFrameMaxUnread(t *testing.T) {
	in := []byte{frameTypeHeader, 0, 1}
	in = binary.BigEndian.AppendUint32(in, 8<<20)
	in = append(in, bytes.Repeat([]byte{9}, 10)...)
	g := newHeaderGuard(readerConn{r: bytes.NewReader(in)})
	g.setFrameMax(128 << 10)
	out, err := io.ReadAll(g)
	if err != nil {
		t.Fatalf("after %d bytes: %v", len(out), err)
	}
	if !bytes.Equal(out, in) {
		t.Errorf("%d bytes out, want the %d in", len(out), len(in))
	}
	if cap(g.buf) != 0 {
		t.Errorf("a buffer of %d bytes allocated", cap(g.buf))
	}
}
