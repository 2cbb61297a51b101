package bindertest

import (
	"context"
	"strings"

	"github.com/streambind/streambind/stream"
)

// testDescribeBinding: a consumer says what it reads on the broker
// (stream.BindingDescriber), for the app's "binding bound" line: a value
// names the destination (as the broker names it: a topic, an exchange, a
// stream's subjects or key), and with a DLQ the "dlq" key names where dead
// letters go. A producer that describes itself names the destination too.
func testDescribeBinding(s *suite) {
	dest := s.dest("describe")
	nop := func(context.Context, stream.Envelope) error { return nil }
	check := func(what string, v any, dlq bool) {
		s.t.Helper()
		d, ok := v.(stream.BindingDescriber)
		if !ok {
			s.t.Errorf("the %s (%T) does not implement stream.BindingDescriber", what, v)
			return
		}
		desc := d.DescribeBinding()
		named := false
		for _, val := range desc {
			named = named || strings.Contains(val, dest)
		}
		if !named {
			s.t.Errorf("the %s's description %v names no broker object of destination %q", what, desc, dest)
		}
		if dlq && desc["dlq"] == "" {
			s.t.Errorf("the %s's description %v has no dlq, with dlq on", what, desc)
		}
	}
	check("group consumer", s.consumer(s.b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: nop,
		Consumer: stream.ConsumerConfig{DLQ: true}}), true)
	check("anonymous consumer", s.consumer(s.b, stream.ConsumerSpec{Destination: dest, Handler: nop}), false)
	p := s.producer(s.b, stream.ProducerSpec{Destination: dest})
	if _, ok := p.(stream.BindingDescriber); ok {
		check("producer", p, false)
	}
}
