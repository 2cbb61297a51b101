package redis_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestTLSMismatchSaysSo: tls on against a plain-text server (and TLS off
// against a TLS-only one) fails the bind saying which side speaks what,
// not marked unavailable (retrying does not help: the app stops at once
// instead of after startup-timeout). Before, TLS against plain text gave
// "cannot reach the server: context deadline exceeded", unavailable, so
// an app retried it for its whole startup-timeout. And "redis: connected"
// says whether TLS is on.
func TestTLSMismatchSaysSo(t *testing.T) {
	plain := redistest.StartServer(t)
	ca, cert, key := writeCerts(t, t.TempDir())
	secure := redistest.StartTLSServer(t, cert, key, ca)
	for _, tc := range []struct {
		name string
		env  map[string]any
		want string
	}{
		{"tls on, plain-text server", map[string]any{"address": plain.Addr(), "tls": true}, "the server answers in plain text"},
		{"rediss url, plain-text server", map[string]any{"url": "rediss://" + plain.Addr()}, "the server answers in plain text"},
		{"tls off, TLS server", map[string]any{"address": secure.Addr()}, "TLS is off but the server speaks TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["dial-timeout"] = "500ms"
			b := newBinder(t, tc.env)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: "tls"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("bind: %v; want it to say %q", err, tc.want)
			}
			if errors.Is(err, stream.ErrUnavailable) {
				t.Errorf("marked unavailable (an app would retry it until startup-timeout): %v", err)
			}
			if h := b.Health(ctx); h == nil || !strings.Contains(h.Error(), tc.want) {
				t.Errorf("health %v; want it to say %q", h, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		env  map[string]any
		want string
	}{
		{map[string]any{"address": plain.Addr()}, "tls=false"},
		{map[string]any{"address": secure.Addr(), "tls": map[string]any{"ca-file": ca}}, "tls=true"},
	} {
		var logs syncbuf.Buffer
		b, err := redisbinder.New(context.Background(), stream.BinderSettings{Name: "r", Type: redisbinder.Type, Environment: tc.env,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		bindProducer(t, b, stream.ProducerSpec{Destination: "tls"})
		if err := b.Close(context.Background()); err != nil {
			t.Error(err)
		}
		if !strings.Contains(logs.String(), `msg="redis: connected"`) || !strings.Contains(logs.String(), tc.want) {
			t.Errorf("log %q does not say %s", logs.String(), tc.want)
		}
	}
}
