// Package rabbittest helps tests that need the local RabbitMQ broker: it
// finds it (failing in CI, skipping loudly elsewhere when it is absent) and
// deletes what a test declared.
package rabbittest

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Address returns the broker address the tests use: the first of
// $RABBIT_ADDRESSES, default 127.0.0.1:5672.
func Address() string {
	if a := os.Getenv("RABBIT_ADDRESSES"); a != "" {
		return strings.TrimSpace(strings.Split(a, ",")[0])
	}
	return "127.0.0.1:5672"
}

// URL is the AMQP URL of the test broker (guest/guest). Do not log it.
func URL() string { return "amqp://guest:guest@" + Address() + "/" }

// Require skips the test when no broker listens at Address, unless CI=true,
// where a missing broker fails it.
func Require(t testing.TB) {
	t.Helper()
	c, err := net.DialTimeout("tcp", Address(), 2*time.Second)
	if err == nil {
		c.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("RabbitMQ is required in CI but not reachable at %s: %v", Address(), err)
	}
	t.Skipf("!!! SKIPPED: RabbitMQ not reachable at %s (%v); start it with `rabbitmq-server -detached` !!!", Address(), err)
}

// Cleanup deletes, when the test ends, the queues and exchanges named (a
// missing one is fine).
func Cleanup(t testing.TB, queues, exchanges func() []string) {
	t.Helper()
	t.Cleanup(func() {
		conn, err := amqp.Dial(URL())
		if err != nil {
			t.Logf("rabbittest cleanup: %v", err)
			return
		}
		defer conn.Close()
		for _, q := range queues() {
			if ch, err := conn.Channel(); err == nil {
				_, _ = ch.QueueDelete(q, false, false, false)
				_ = ch.Close()
			}
		}
		for _, x := range exchanges() {
			if ch, err := conn.Channel(); err == nil {
				_ = ch.ExchangeDelete(x, false, false)
				_ = ch.Close()
			}
		}
	})
}
