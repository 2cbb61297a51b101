package nats_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestShortPasswordDoesNotMangle: a wrong one-letter password, given on its
// own or in a server URL, is refused with a message that still reads
// ("authentication failed", the server's address): the binder hid every
// "a" of its errors and log lines ("[redacted]uthentic[redacted]tion
// f[redacted]iled"). The password is still hidden where it stands as one,
// in a URL's user info; the right (long) password appears nowhere.
func TestShortPasswordDoesNotMangle(t *testing.T) {
	const pw = "r1ght-Passw0rd-4-alice"
	srv := natstest.Start(t, natstest.Options{Config: `authorization { user: alice, password: "` + pw + `" }` + "\n"})
	for name, env := range map[string]map[string]any{
		"password": {"servers": srv.URL(), "username": "alice", "password": "a"},
		"in-url":   {"servers": "nats://alice:a@" + srv.Addr()},
	} {
		t.Run(name, func(t *testing.T) {
			var logs logBuffer
			b := authBinder(t, env, &logs)
			_, err := b.BindProducer(context.Background(), stream.ProducerSpec{Binding: "x-out-0", Destination: unique(t, "short"), ContentType: "text/plain"})
			if err == nil {
				t.Fatal("BindProducer with a wrong password succeeded")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), "authentication failed") || !strings.Contains(err.Error(), srv.Addr()) {
				t.Errorf("error %q lost its words to redaction", err)
			}
			for _, text := range []string{err.Error(), logs.String()} {
				if strings.Contains(text, ":a@") || strings.Contains(text, pw) {
					t.Errorf("a password shows: %s", text)
				}
			}
		})
	}
}
