package rabbit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestRedactErrShortPassword: a one-letter password is not replaced in
// every word that holds its letter (the message of a refused login read
// "Exception (403) Re[xxxxx]son: ..."); a long one is hidden wherever it is.
func TestRedactErrShortPassword(t *testing.T) {
	const refused = `Exception (403) Reason: "username or password not allowed"`
	if got := redactErr(errors.New(refused), endpoint{username: "guest", password: "a"}); got != refused {
		t.Errorf("short password: %q, want %q", got, refused)
	}
	if got := redactErr(errors.New("dial amqp://guest:a@h:5672/: refused"), endpoint{password: "a"}); got != "dial amqp://guest:******@h:5672/: refused" {
		t.Errorf("short password in a URL: %q", got)
	}
	const long = "L0ng-Passw0rd"
	if got := redactErr(errors.New("auth "+long+" refused"), endpoint{password: long}); got != "auth ****** refused" {
		t.Errorf("long password: %q", got)
	}
}

// TestShortPasswordDialNotMangled: a failed dial with a one-letter
// password (a refused login, a closed port) reads whole in the bind error,
// Health and the log, with the address's password hidden; a long password
// appears in none of them.
func TestShortPasswordDialNotMangled(t *testing.T) {
	t.Parallel()
	const long = "L0ng-Wr0ng-Passw0rd-xyz"
	for _, tc := range []struct {
		name, password, addr, want string
	}{
		{"refused-short", "a", rabbittest.Address(), "dial amqp://guest:******@" + rabbittest.Address() + "/"},
		{"refused-long", long, rabbittest.Address(), "dial amqp://guest:******@" + rabbittest.Address() + "/"},
		{"closed-port-short", "a", "127.0.0.1:1", "dial amqp://guest:******@127.0.0.1:1/%2F: dial tcp 127.0.0.1:1: connect: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			var mu sync.Mutex
			b, err := New(context.Background(), stream.BinderSettings{Name: "r", Type: Type, Logger: newLockedLogger(&logs, &mu),
				Environment: map[string]any{"addresses": tc.addr, "username": "guest", "password": tc.password, "connection-timeout": "1s"}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: "never-declared"})
			cancel()
			if err == nil {
				t.Fatal("bind succeeded")
			}
			t.Log(err)
			herr := b.(stream.HealthChecker).Health(context.Background())
			mu.Lock()
			log := logs.String()
			mu.Unlock()
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("bind error %q does not hold %q", err, tc.want)
			}
			for what, s := range map[string]string{"bind error": err.Error(), "health": errString(herr), "log": log} {
				if strings.Contains(s, long) || strings.Contains(s, ":a@") {
					t.Errorf("password in %s: %s", what, s)
				}
				if tc.password == "a" && strings.Contains(s, "xxxxx") {
					t.Errorf("%s mangled: %s", what, s)
				}
			}
			if tc.name != "closed-port-short" && !strings.Contains(err.Error(), "password not allowed") && !strings.Contains(err.Error(), "ACCESS_REFUSED") {
				t.Errorf("bind error %q lost the broker's reason", err)
			}
		})
	}
}
