package rabbit_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// Checks of two settings together are reported at the key as written
// where it won, whose origin is the file:line to change; they named the
// binder's environment path, which no file wrote.
func TestCrossKeyChecksReportWhereTheKeyWasGiven(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    stream.BinderSettings
		want string
		msg  string
	}{
		{"reconnect intervals", stream.BinderSettings{Type: rabbit.Type, Binder: map[string]any{"reconnectMaxInterval": "10ms", "reconnect-initial-interval": "1s"}},
			"stream.rabbit.binder.reconnectMaxInterval", "must not be below reconnect-initial-interval (1s)"},
		{"initial given, max default", stream.BinderSettings{Type: rabbit.Type, Binder: map[string]any{"reconnect-initial-interval": "1h"}},
			"stream.rabbit.binder.reconnect-initial-interval", "must not be above reconnect-max-interval"},
		{"connection name and prefix", stream.BinderSettings{Name: "r", Type: rabbit.Type,
			Binder: map[string]any{"connection-name": "a"}, Environment: map[string]any{"connectionNamePrefix": "p"}},
			"stream.binders.r.environment.connectionNamePrefix", "not both (stream.rabbit.binder.connection-name is set too)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rabbit.New(context.Background(), tc.s)
			var es stream.ConfigErrors
			if !errors.As(err, &es) {
				t.Fatalf("error %v is not a stream.ConfigErrors", err)
			}
			var paths []string
			for _, e := range es {
				paths = append(paths, e.Path)
			}
			if !slices.Equal(paths, []string{tc.want}) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("problems at %q; want one at %s saying %q (%v)", paths, tc.want, tc.msg, err)
			}
		})
	}
}
