// Package rabbittest helps tests that need the local RabbitMQ broker: it
// finds it (failing in CI, skipping loudly elsewhere when it is absent),
// deletes what a test declared, and gives a test a virtual host of its own
// whose connections it may close without disturbing the broker's other
// clients.
package rabbittest

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"os/exec"
	"regexp"
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

// Ctl runs rabbitmqctl with args and returns its output; it fails the test
// when the command fails. RequireCtl first.
func Ctl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// RequireCtl is Require plus a usable rabbitmqctl (tests that manage
// virtual hosts, permissions or connections); without one the test skips,
// or fails when CI=true.
func RequireCtl(t testing.TB) {
	t.Helper()
	Require(t)
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("rabbitmqctl is required in CI: %v", err)
		}
		t.Skipf("!!! SKIPPED: rabbitmqctl not installed: %v !!!", err)
	}
}

// VHost creates a virtual host of the test's own, where guest may do
// everything, and deletes it (with all it holds) when the test ends.
func VHost(t testing.TB) string {
	t.Helper()
	RequireCtl(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	vhost := "streambind-test-" + hex.EncodeToString(b[:])
	Ctl(t, "add_vhost", vhost)
	t.Cleanup(func() {
		if out, err := exec.Command("rabbitmqctl", "delete_vhost", vhost).CombinedOutput(); err != nil {
			t.Logf("rabbittest: delete_vhost %s: %v\n%s", vhost, err, out)
		}
	})
	SetPermissions(t, vhost, ".*", ".*", ".*")
	return vhost
}

// SetPermissions sets guest's configure, write and read permissions
// (regular expressions) in vhost.
func SetPermissions(t testing.TB, vhost, configure, write, read string) {
	t.Helper()
	Ctl(t, "set_permissions", "-p", vhost, "guest", configure, write, read)
}

// VHostURL is the AMQP URL of vhost on the test broker (guest/guest).
func VHostURL(vhost string) string {
	return "amqp://guest:guest@" + Address() + "/" + url.PathEscape(vhost)
}

var connNameRE = regexp.MustCompile(`\{"connection_name","([^"]*)"\}`)

// CloseConnections closes the connections of vhost whose client-provided
// connection name starts with namePrefix ("" for all of the vhost's) and
// returns how many it closed. Only vhost's connections are touched.
func CloseConnections(t testing.TB, vhost, namePrefix string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(Ctl(t, "-s", "list_connections", "pid", "vhost", "client_properties"), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) < 3 || f[1] != vhost {
			continue
		}
		name := ""
		if m := connNameRE.FindStringSubmatch(f[2]); m != nil {
			name = m[1]
		}
		if !strings.HasPrefix(name, namePrefix) {
			continue
		}
		// A connection that closed meanwhile is fine.
		if err := exec.Command("rabbitmqctl", "close_connection", f[0], "closed by a streambind test").Run(); err == nil {
			n++
		}
	}
	return n
}
