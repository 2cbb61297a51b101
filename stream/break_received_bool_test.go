package stream_test

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

// A header compared with a boolean is that boolean only when its text is a
// Boolean's as Java writes one ("true", "false"): the one text an SCSt
// Boolean header (amqp_redelivered, a Spring producer's Boolean) arrives
// as. Other texts Spring's String-to-Boolean conversion reads in a
// condition ("1", "yes", "on", "TRUE") are, to SCSt, a String or an
// Integer header, and SpEL's == never finds either equal to a Boolean:
// headers.f == true with f "1" is false, as it was here before booleans
// were read from headers. A condition converts as Spring does, which
// trims the text first.
func TestBreakReceivedBoolHeaderComparison(t *testing.T) {
	for _, c := range []struct {
		expr, f, want string
	}{
		{"headers['f'] == true ? 'y' : 'n'", "true", "y"},
		{"headers['f'] == false ? 'y' : 'n'", "false", "y"},
		{"headers['f'] != true ? 'y' : 'n'", "false", "y"},
		{"headers['f'] == true ? 'y' : 'n'", "1", "n"},
		{"headers['f'] == true ? 'y' : 'n'", "yes", "n"},
		{"headers['f'] == true ? 'y' : 'n'", "on", "n"},
		{"headers['f'] == true ? 'y' : 'n'", "TRUE", "n"},
		{"headers['f'] != true ? 'y' : 'n'", "1", "y"},
		{"headers['f'] == false ? 'y' : 'n'", "0", "n"},
		{"headers['f'] == false ? 'y' : 'n'", "no", "n"},
		{"true == headers['f'] ? 'y' : 'n'", "1", "n"},
		{"headers['f'] == 1 ? 'y' : 'n'", "1", "y"},
		// Conditions: Spring's StringToBooleanConverter.
		{"headers['f'] ? 'y' : 'n'", "1", "y"},
		{"headers['f'] ? 'y' : 'n'", "Yes", "y"},
		{"headers['f'] ? 'y' : 'n'", " yes ", "y"},
		{"!headers['f'] ? 'y' : 'n'", " off", "y"},
	} {
		k, err := stream.CompileIdempotencyKey(stream.IdempotencyConfig{KeyExpression: c.expr})
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		got, err := k.Of(stream.Envelope{Headers: stream.Headers{"f": c.f}})
		if err != nil || got != c.want {
			t.Errorf("%s with f %q: %q, %v; want %q", c.expr, c.f, got, err, c.want)
		}
	}
}
