package bindertest

import (
	"bytes"
	"strings"

	"github.com/streambind/streambind/stream"
)

// testEdgeMessages: messages at the edges of what a service sends round
// trip unchanged: an empty payload, a payload of 512 KiB, a header whose
// value is empty, header names of mixed case, with dots, dashes and
// underscores, and 64 headers on one message.
func testEdgeMessages(s *suite) {
	dest := s.dest("edge")
	col := newCollector()
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: col.handler(0)})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})

	large := bytes.Repeat([]byte("0123456789abcdef"), 512*1024/16)
	many := stream.Headers{IDHeader: "many"}
	for i := range 64 {
		many["x-h-"+strings.Repeat("n", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26))] = strings.Repeat("v", i)
	}
	msgs := []stream.Envelope{
		{Payload: []byte{}, Headers: stream.Headers{IDHeader: "empty"}},
		{Payload: large, Headers: stream.Headers{IDHeader: "large"}},
		{Payload: []byte("x"), Headers: stream.Headers{IDHeader: "names",
			"X-Mixed-Case": "1", "x.dotted.name": "2", "x_under_score": "3", "x-empty-value": ""}},
		{Payload: []byte("y"), Headers: many},
	}
	for _, m := range msgs {
		s.sendEnv(p, m)
	}
	s.waitIDs(col, "the edge messages", []string{"empty", "large", "names", "many"})
	for _, m := range msgs {
		id := m.Headers[IDHeader]
		got := col.deliveries(id)[0].env
		if !bytes.Equal(got.Payload, m.Payload) {
			s.t.Errorf("%s: payload of %d bytes arrived as %d bytes", id, len(m.Payload), len(got.Payload))
		}
		for k, v := range m.Headers {
			if gv, ok := got.Headers[k]; !ok || gv != v {
				s.t.Errorf("%s: header %q = %q arrived as %q (present %v)", id, k, v, gv, ok)
			}
		}
	}
}
