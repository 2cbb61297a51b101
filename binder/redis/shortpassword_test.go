package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestShortPasswordNotMangled: a refused one-letter password, given on its
// own or in a URL, leaves the bind error and Health reading ("authentication
// failed"): the binder replaced every "a" of them with the password
// ("[redacted]uthentic[redacted]tion f[redacted]iled"). The password is
// still hidden in the URL's user info.
func TestShortPasswordNotMangled(t *testing.T) {
	t.Parallel()
	s, _ := aclServer(t)
	for name, env := range map[string]map[string]any{
		"password": {"address": s.Addr(), "username": "app", "password": "a"},
		"url":      {"url": "redis://app:a@" + s.Addr() + "/0"},
	} {
		t.Run(name, func(t *testing.T) {
			b := newBinder(t, env)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: "sb:x"})
			if err == nil {
				t.Fatal("bind succeeded with a wrong password")
			}
			t.Log(err)
			h := b.Health(ctx)
			for what, text := range map[string]string{"error": err.Error(), "health": errText(h)} {
				if !strings.Contains(text, "authentication failed") {
					t.Errorf("%s %q lost its words to redaction", what, text)
				}
				if strings.Contains(text, ":a@") || strings.Contains(text, appPassword) {
					t.Errorf("%s shows a password: %s", what, text)
				}
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
