package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestHideSecretsShortPassword: a one-letter password is hidden where it
// stands as a password, not in every word that holds its letter; a long
// one (and the whole URI) wherever it is.
func TestHideSecretsShortPassword(t *testing.T) {
	const uri = "amqp://nobody:a@127.0.0.1:1/"
	err := errors.New(`dial amqp://nobody:a@127.0.0.1:1/: Exception (403) Reason: "username or password not allowed"`)
	want := `dial ******: Exception (403) Reason: "username or password not allowed"`
	if got := hideSecrets(err, uri, "a").Error(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	err = errors.New(`dial tcp 127.0.0.1:1: connect: connection refused (amqp://nobody:a@h/)`)
	want = `dial tcp 127.0.0.1:1: connect: connection refused (amqp://nobody:******@h/)`
	if got := hideSecrets(err, "a").Error(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := hideSecrets(errors.New("auth L0ng-pw refused"), "L0ng-pw").Error(); got != "auth ****** refused" {
		t.Errorf("long password: %q", got)
	}
}

// TestWhereShortPassword: --purge names the server with the password, even
// a one-letter one, as ******, and the rest of the address as it is.
func TestWhereShortPassword(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{redisConn{addr: "cache:6379", username: "alice", password: "a", db: 2, keyPrefix: "p:"}.where(), `redis://alice:******@cache:6379/2 (key prefix "p:")`},
		{redisConn{addr: "cache:6379", password: "p*%@:w", tls: true}.where(), `rediss://:******@cache:6379/0 (key prefix "")`},
		{redisConn{addr: "cache:6379", username: "alice"}.where(), `redis://alice@cache:6379/0 (key prefix "")`},
		{natsConn{servers: []string{"nats://demo:a@h:4222", "nats://t0k@h2:4222", "nats://h3:4222"}}.where(), "nats://demo:******@h:4222,nats://******@h2:4222,nats://h3:4222"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// TestPurgeRabbitShortPassword: a failed dial with a one-letter password (a
// refused login, a closed port) reads whole; the password shows nowhere.
func TestPurgeRabbitShortPassword(t *testing.T) {
	for addr, words := range map[string]string{
		rabbittest.Address(): "username or password not allowed",
		"127.0.0.1:1":        "dial tcp 127.0.0.1:1",
	} {
		bs := stream.BinderSettings{Name: "rabbit", Type: "rabbit", Environment: map[string]any{
			"addresses": addr, "username": "nobody", "password": "a", "virtual-host": "/"}}
		_, _, err := purgeRabbit(context.Background(), bs, rabbitDemoQueues)
		if err == nil {
			t.Fatal("purge with a wrong password succeeded")
		}
		if !strings.Contains(err.Error(), words) || !strings.Contains(err.Error(), "nobody:******@"+addr) || strings.Contains(err.Error(), ":a@") {
			t.Errorf("error %q: want %q and the broker named without the password", err, words)
		}
	}
}
