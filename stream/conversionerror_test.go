package stream_test

import (
	"errors"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestConversionErrorMissingFields: Permanent((*ConversionError)(nil))
// panicked when read (a nil dereference in Error), and a ConversionError
// with empty fields read "binding : cannot encode  as : <nil>". Each
// reads, without what is not set; a bare ConversionError is not
// permanent (only the framework's conversions wrap it so), as the doc
// says.
func TestConversionErrorMissingFields(t *testing.T) {
	err := stream.Permanent((*stream.ConversionError)(nil))
	if got := err.Error(); got != "cannot convert the payload (nil *stream.ConversionError)" {
		t.Errorf("nil: %q", got)
	}
	if errors.Is(err, errors.ErrUnsupported) {
		t.Error("nil: Is ErrUnsupported")
	}
	for _, c := range []struct {
		e    *stream.ConversionError
		want string
	}{
		{&stream.ConversionError{}, "cannot encode the payload"},
		{&stream.ConversionError{Decode: true, Err: errors.New("bad")}, "cannot decode the payload: bad"},
		{&stream.ConversionError{Binding: "in-0", ContentType: "application/json", Type: "main.Order", Decode: true, Err: errors.New("bad")},
			"binding in-0: cannot decode application/json as main.Order: bad"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%+v: %q, want %q", *c.e, got, c.want)
		}
	}
	if stream.IsPermanent(&stream.ConversionError{}) {
		t.Error("a bare ConversionError is permanent; the doc says only a wrapped one is")
	}
}
