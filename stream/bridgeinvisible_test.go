package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A dynamic destination's name with a leading or trailing invisible format
// character (a zero-width space, a byte order mark: left from a copy or
// a file) is refused as one with white space is, by Send and by Encode;
// "orders\u200b" was bound as a destination of its own, which nobody
// reads. Unicode spaces (U+00A0, U+3000) and blanks inside a name keep
// their behaviour: refused at the ends, allowed inside.
func TestBridgeRefusesInvisibleDestinationEnds(t *testing.T) {
	broker := newBroker(t)
	r := startOn(t, broker, &stream.Config{}, stream.NewCatalog(), discardLogger())
	br := r.app.Bridge()
	for _, name := range []string{"orders\u200b", "\ufefforders", "orders\u2060", "\u00a0orders", "orders\u3000"} {
		want := "has leading or trailing white space (did you mean \"orders\"?)"
		if err := br.Send(context.Background(), name, "x"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Send(%q): %v, want an error saying it %s", name, err, want)
		}
		if _, err := br.Encode(name, "x"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Encode(%q): %v, want an error saying it %s", name, err, want)
		}
	}
	if err := br.Send(context.Background(), "\u200b\ufeff", "x"); err == nil || !strings.Contains(err.Error(), "blank destination name") {
		t.Errorf("Send of invisible characters only: %v, want a blank destination name", err)
	}
	if d := br.DynamicDestinations(); len(d) != 0 {
		t.Errorf("dynamic destinations %q, want none", d)
	}
	if err := br.Send(context.Background(), "my orders", "x"); err != nil {
		t.Errorf("a blank inside a name: %v", err)
	}
}
