package redis

import (
	"errors"
	"maps"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/streambind/streambind/stream"
)

// byteConn is a net.Conn whose Read returns the replies given, one byte
// at a time (the parser must read on across every boundary), and whose
// Write records what was written.
type byteConn struct {
	net.Conn
	in      []byte
	written []byte
}

func (c *byteConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, errors.New("no more input")
	}
	p[0] = c.in[0]
	c.in = c.in[1:]
	return 1, nil
}

func (c *byteConn) Write(p []byte) (int, error) {
	c.written = append(c.written, p...)
	return len(p), nil
}

func (c *byteConn) SetReadDeadline(time.Time) error  { return nil }
func (c *byteConn) SetWriteDeadline(time.Time) error { return nil }

func bulk(s string) string { return "$" + itoa(len(s)) + "\r\n" + s + "\r\n" }

func itoa(n int) string { return string(appendArray(nil, n)[1 : len(appendArray(nil, n))-2]) }

// entryRESP is an entry [id, [f1, v1, ...]] in RESP.
func entryRESP(id string, fv ...string) string {
	s := "*2\r\n" + bulk(id) + "*" + itoa(len(fv)) + "\r\n"
	for _, x := range fv {
		s += bulk(x)
	}
	return s
}

func TestRESPReadStreamsBothProtocols(t *testing.T) {
	e1 := entryRESP("1-1", "h:contentType", "application/json", "h:id", "abc", "key", "k1", "payload", `{"a":1}`)
	e2 := entryRESP("1-2", "sku", "42", "qty", "1")
	for name, reply := range map[string]string{
		// RESP3: a map of key to entries; a deleted entry's fields null.
		"resp3": "%2\r\n" + bulk("s1") + "*3\r\n" + e1 + "*2\r\n" + bulk("1-5") + "_\r\n" + e2 + bulk("s2") + "*1\r\n" + entryRESP("2-1", "payload", ""),
		// RESP2: an array of [key, entries].
		"resp2": "*2\r\n*2\r\n" + bulk("s1") + "*3\r\n" + e1 + "*2\r\n" + bulk("1-5") + "*-1\r\n" + e2 + "*2\r\n" + bulk("s2") + "*1\r\n" + entryRESP("2-1", "payload", ""),
	} {
		t.Run(name, func(t *testing.T) {
			rc := &respConn{conn: &byteConn{in: []byte(reply)}}
			ss, err := rc.readStreams(nil, []string{"s1"})
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.done(); err != nil {
				t.Fatal(err)
			}
			if len(ss) != 2 || ss[0].key != "s1" || ss[1].key != "s2" || len(ss[0].ents) != 3 || len(ss[1].ents) != 1 {
				t.Fatalf("streams %+v", ss)
			}
			if ss[0].ents[0].id != "1-1" || ss[0].ents[1].id != "1-5" || ss[0].ents[1].resp != "" || ss[0].ents[2].id != "1-2" || ss[1].ents[0].id != "2-1" {
				t.Fatalf("entries %+v", ss)
			}
			env := decodeRESP(ss[0].ents[0].resp)
			if string(env.Payload) != `{"a":1}` || string(env.Key) != "k1" || !maps.Equal(env.Headers, stream.Headers{"contentType": "application/json", "id": "abc"}) {
				t.Fatalf("decoded %+v", env)
			}
			// The same message as go-redis's field map gave.
			for _, e := range []rawEntry{ss[0].ents[0], ss[0].ents[2], ss[1].ents[0]} {
				vals := map[string]any{}
				w := respWalk{s: e.resp}
				for range w.fields() {
					f := w.bulk()
					vals[f] = w.bulk()
				}
				if got, want := decodeRESP(e.resp), decode(vals); !reflect.DeepEqual(got, want) {
					t.Errorf("entry %s: decodeRESP %+v, decode %+v", e.id, got, want)
				}
			}
		})
	}
}

func TestRESPNullAndErrorReplies(t *testing.T) {
	for _, reply := range []string{"*-1\r\n", "_\r\n"} {
		rc := &respConn{conn: &byteConn{in: []byte(reply)}}
		if _, err := rc.readStreams(nil, nil); !errors.Is(err, errNilReply) {
			t.Errorf("%q: %v, want errNilReply", reply, err)
		}
	}
	rc := &respConn{conn: &byteConn{in: []byte("-NOGROUP No such key 's' or consumer group 'g'\r\n")}}
	_, err := rc.readStreams(nil, nil)
	if !isNoGroup(err) {
		t.Errorf("%v: not NOGROUP", err)
	}
	rc = &respConn{conn: &byteConn{in: []byte("!21\r\nSYNTAX invalid syntax\r\n")}}
	if err := rc.readInt(); !hasPrefix(err, "SYNTAX") {
		t.Errorf("blob error: %v", err)
	}
	rc = &respConn{conn: &byteConn{in: []byte(":3\r\n-ERR no\r\n")}}
	if err := rc.readInt(); err != nil {
		t.Error(err)
	}
	var re replyError
	if err := rc.readInt(); !errors.As(err, &re) {
		t.Errorf("%v: not a reply error", err)
	}
	// Bytes after the replies expected: the connection is out of step.
	rc = &respConn{conn: &byteConn{in: []byte(":1\r\n:1\r\n")}}
	if err := rc.readInt(); err != nil {
		t.Fatal(err)
	}
	if err := rc.fill(); err != nil {
		t.Fatal(err)
	}
	if err := rc.done(); err == nil {
		t.Error("done with unread bytes: no error")
	}
	// A null inside a reply (not a whole reply's "nothing read"): an
	// error, not errNilReply, which would leave the connection in use.
	for _, reply := range []string{"*1\r\n*2\r\n$-1\r\n", "%1\r\n_\r\n", "*1\r\n*2\r\n" + bulk("s") + "*1\r\n_\r\n"} {
		rc := &respConn{conn: &byteConn{in: []byte(reply)}}
		if _, err := rc.readStreams(nil, nil); !errors.Is(err, errNullInside) {
			t.Errorf("%q: %v, want errNullInside", reply, err)
		}
	}
	rc = &respConn{conn: &byteConn{in: []byte("_\r\n")}}
	if err := rc.readInt(); !errors.Is(err, errNullInside) {
		t.Errorf("XACK's null: %v, want errNullInside", err)
	}
	// A reply type not expected, a malformed length, a cut reply.
	for _, reply := range []string{"+OK\r\n", "*x\r\n", "*1\r\n*2\r\n" + bulk("s") + "*1\r\n*2\r\n$3\r\n1-"} {
		rc := &respConn{conn: &byteConn{in: []byte(reply)}}
		if _, err := rc.readStreams(nil, nil); err == nil || errors.Is(err, errNilReply) {
			t.Errorf("%q: %v, want an error", reply, err)
		}
	}
}

func TestRESPCommands(t *testing.T) {
	got := string(appendXReadGroup(nil, "g", "c", 128, 2*time.Second, []string{"s1", "s2", ">", ">"}))
	want := "*13\r\n" + bulk("XREADGROUP") + bulk("GROUP") + bulk("g") + bulk("c") + bulk("COUNT") + bulk("128") + bulk("BLOCK") + bulk("2000") + bulk("STREAMS") + bulk("s1") + bulk("s2") + bulk(">") + bulk(">")
	if got != want {
		t.Errorf("XREADGROUP:\n%q\nwant\n%q", got, want)
	}
	got = string(appendXReadGroup(nil, "g", "c", 1, -1, []string{"s", ">"}))
	want = "*9\r\n" + bulk("XREADGROUP") + bulk("GROUP") + bulk("g") + bulk("c") + bulk("COUNT") + bulk("1") + bulk("STREAMS") + bulk("s") + bulk(">")
	if got != want {
		t.Errorf("XREADGROUP without BLOCK:\n%q\nwant\n%q", got, want)
	}
	var es []*entry
	for i := range ackBatch + 2 {
		es = append(es, &entry{key: "a", id: "1-" + itoa(i)})
		if i%100 == 0 {
			es = append(es, &entry{key: "b", id: "2-" + itoa(i)})
		}
	}
	b, n := appendXAcks(nil, "g", es)
	if n != 3 {
		t.Fatalf("%d XACKs, want 3 (a: %d and 2, b: 6)", n, ackBatch)
	}
	cmds := strings.Split(string(b), "*")
	// Each command: its array header, then the XACK, key and group, then ids.
	if !strings.HasPrefix(string(b), "*"+itoa(3+ackBatch)+"\r\n"+bulk("XACK")+bulk("a")+bulk("g")+bulk("1-0")) || len(cmds) != 4 {
		t.Errorf("XACKs: %d commands, starting %q", len(cmds)-1, string(b)[:60])
	}
	if !strings.Contains(string(b), "*5\r\n"+bulk("XACK")+bulk("a")+bulk("g")+bulk("1-"+itoa(ackBatch))+bulk("1-"+itoa(ackBatch+1))) {
		t.Error("the second XACK of a is not the last two ids")
	}
	if !strings.HasSuffix(string(b), "*9\r\n"+bulk("XACK")+bulk("b")+bulk("g")+bulk("2-0")+bulk("2-100")+bulk("2-200")+bulk("2-300")+bulk("2-400")+bulk("2-500")) {
		t.Error("b's XACK is not its six ids in order")
	}
}

// A large entry's ID and headers are not slices of its RESP bytes: a
// handler keeping an ID or a header would keep the payload too.
func TestRESPLargeEntryHeadersNotShared(t *testing.T) {
	payload := strings.Repeat("x", 2*respShareMax)
	for _, tc := range []struct {
		payload string
		shared  bool
	}{{"small", true}, {payload, false}} {
		reply := "%1\r\n" + bulk("s") + "*1\r\n" + entryRESP("7-1", "h:id", "abc", "payload", tc.payload)
		rc := &respConn{conn: &byteConn{in: []byte(reply)}}
		ss, err := rc.readStreams(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		e := ss[0].ents[0]
		env := decodeRESP(e.resp)
		inside := func(s string) bool {
			p, b := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(e.resp)))
			return p >= b && p < b+uintptr(len(e.resp))
		}
		if got := inside(e.id); got != tc.shared {
			t.Errorf("payload of %d bytes: ID in the entry's string %v, want %v", len(tc.payload), got, tc.shared)
		}
		for k, v := range env.Headers {
			if inside(k) != tc.shared || inside(v) != tc.shared {
				t.Errorf("payload of %d bytes: header %s in the entry's string, want %v", len(tc.payload), k, tc.shared)
			}
		}
		if string(env.Payload) != tc.payload || env.Headers["id"] != "abc" || e.id != "7-1" {
			t.Errorf("decoded %q %v %s", env.Payload, env.Headers, e.id)
		}
	}
}

// Replies no server sends are errors (the connection is dropped), not a
// panic of intake or a buffer grown without bound: a blob error of
// negative or huge length, a bulk string over proto-max-bulk-len, an
// entry with an odd number of field elements (decoding dropped the last).
func TestRESPMalformedLengths(t *testing.T) {
	for _, reply := range []string{"!-5\r\nab\r\n", "!999999999999\r\nab\r\n"} {
		rc := &respConn{conn: &byteConn{in: []byte(reply)}}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%q: panic %v", reply, r)
				}
			}()
			if err := rc.readInt(); err == nil {
				t.Errorf("%q: no error", reply)
			}
		}()
	}
	odd := "*1\r\n*2\r\n" + bulk("s") + "*1\r\n" + entryRESP("1-0", "payload", "x", "lonely")
	rc := &respConn{conn: &byteConn{in: []byte(odd)}}
	if _, err := rc.readStreams(nil, nil); err == nil || !strings.Contains(err.Error(), "field elements") {
		t.Errorf("an entry of 3 field elements: %v, want an error", err)
	}
}
