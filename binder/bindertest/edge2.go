package bindertest

import (
	"slices"
	"strings"

	"github.com/streambind/streambind/stream"
)

// testEdgeNames: headers a broker may not be able to carry (a name of 300
// bytes, a name with a space or a colon, a value with CR LF, NUL or bytes
// that are not UTF-8, a value of 100,000 bytes) are either refused by Send
// with a permanent error (retrying cannot help: the core dead-letters the
// input instead of retrying it for ever) or delivered unchanged; either
// way the producer goes on sending.
func testEdgeNames(s *suite) {
	dest := s.dest("edgenames")
	col := newCollector()
	s.started(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: col.handler(0)})
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	cases := map[string]stream.Headers{
		"long-name":     {strings.Repeat("a", 300): "v"},
		"space-name":    {"x with space": "v"},
		"colon-name":    {"x:colon": "v"},
		"newline-value": {"x-nl": "a\r\nb"},
		"long-value":    {"x-long": strings.Repeat("v", 100000)},
		"nul-value":     {"x-nul": "a\x00b"},
		"invalid-utf8":  {"x-bad": "\xff\xfe"},
	}
	var sent []string
	for id, h := range cases {
		h[IDHeader] = id
		ctx, cancel := s.ctx()
		err := p.Send(ctx, stream.Envelope{Payload: []byte(id), Headers: h})
		cancel()
		switch {
		case err == nil:
			sent = append(sent, id)
		case !stream.IsPermanent(err):
			s.t.Errorf("%s: Send refused it with an error that is not permanent: %v", id, err)
		default:
			s.t.Logf("%s: refused: %v", id, err)
		}
	}
	s.sendEnv(p, stream.Envelope{Payload: []byte("after"), Headers: stream.Headers{IDHeader: "after"}})
	s.waitIDs(col, "the messages sent", append(slices.Clone(sent), "after"))
	for _, id := range sent {
		got := col.deliveries(id)[0].env
		for k, v := range cases[id] {
			if got.Headers[k] != v {
				s.t.Errorf("%s: header %.20q = %.20q arrived as %.20q", id, k, v, got.Headers[k])
			}
		}
	}
}
