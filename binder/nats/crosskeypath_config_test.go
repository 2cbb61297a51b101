package nats_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/stream"
)

// reconnect-max-interval below reconnect-initial-interval is reported at
// the key as written where it won, whose origin is the file:line to
// change; it named the binder's environment path, which no file wrote.
func TestCrossKeyChecksReportWhereTheKeyWasGiven(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    stream.BinderSettings
		want string
	}{
		{"binder section", stream.BinderSettings{Type: nats.Type, Binder: map[string]any{"reconnectMaxInterval": "10ms", "reconnect-initial-interval": "1s"}},
			"stream.nats.binder.reconnectMaxInterval"},
		{"initial given, max default", stream.BinderSettings{Type: nats.Type, Binder: map[string]any{"reconnect-initial-interval": "1h"}},
			"stream.nats.binder.reconnect-initial-interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := nats.New(context.Background(), tc.s)
			var es stream.ConfigErrors
			if !errors.As(err, &es) {
				t.Fatalf("error %v is not a stream.ConfigErrors", err)
			}
			var paths []string
			for _, e := range es {
				paths = append(paths, e.Path)
			}
			if !slices.Equal(paths, []string{tc.want}) {
				t.Errorf("problems at %q; want at %s (%v)", paths, tc.want, err)
			}
		})
	}
}
