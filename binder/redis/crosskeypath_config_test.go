package redis_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/stream"
)

// A check of two settings together reports at the key as it was written
// where it won (stream.redis.binder.healthTimeout), whose origin is the
// file:line to change. It reported at the binder's environment path
// (stream.binders.redis.environment.health-timeout), which no file
// wrote: the error pointed at line 1 of the file.
func TestCrossKeyChecksReportWhereTheKeyWasGiven(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    stream.BinderSettings
		want []string
	}{
		{"binder section", stream.BinderSettings{Type: redisbinder.Type, Binder: map[string]any{
			"healthTimeout": 30, "max_length": -1, "trim-acked": false, "user": "bob",
			"max-message-size": 2048, "dead-letter-max-size": 4096,
		}}, []string{
			"stream.redis.binder.healthTimeout", "stream.redis.binder.max_length", "stream.redis.binder.user",
			"stream.redis.binder.dead-letter-max-size",
		}},
		{"interval given, timeout default", stream.BinderSettings{Type: redisbinder.Type, Binder: map[string]any{"health-interval": "100ms"}},
			[]string{"stream.redis.binder.health-interval"}},
		{"environment wins", stream.BinderSettings{Name: "r", Type: redisbinder.Type,
			Binder: map[string]any{"health-timeout": "1s"}, Environment: map[string]any{"health-timeout": "30s"}},
			[]string{"stream.binders.r.environment.health-timeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redisbinder.New(context.Background(), tc.s)
			var es stream.ConfigErrors
			if !errors.As(err, &es) {
				t.Fatalf("error %v is not a stream.ConfigErrors", err)
			}
			var paths []string
			for _, e := range es {
				paths = append(paths, e.Path)
			}
			for _, w := range tc.want {
				if !slices.Contains(paths, w) {
					t.Errorf("no problem at %s; problems at %q (%v)", w, paths, err)
				}
			}
			if len(paths) != len(tc.want) {
				t.Errorf("problems at %q; want %q", paths, tc.want)
			}
		})
	}
}
