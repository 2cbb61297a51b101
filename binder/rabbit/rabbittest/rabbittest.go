// Package rabbittest helps tests that need the local RabbitMQ broker: it
// finds it (failing in CI, skipping loudly elsewhere when it is absent),
// deletes what a test declared, and gives a test a virtual host of its own
// whose connections it may close without disturbing the broker's other
// clients.
package rabbittest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
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
// everything, and deletes it (with all it holds) when the test ends, or,
// in a test binary whose TestMain uses Main or Wrap, when its tests end;
// there it is taken from virtual hosts made a batch at a time (vhostPool),
// unused until then.
func VHost(t testing.TB) string {
	t.Helper()
	RequireCtl(t)
	if vhost, ok := pool.take(); ok {
		return vhost // deleted when the package's tests end (Main)
	}
	vhost := newVHostName()
	t.Cleanup(func() {
		if pendingDeletes.add(vhost) {
			return // deleted when the package's tests end (Main)
		}
		if out, err := exec.Command("rabbitmqctl", "delete_vhost", vhost).CombinedOutput(); err != nil {
			t.Logf("rabbittest: delete_vhost %s: %v\n%s", vhost, err, out)
		}
	})
	createVHost(t, vhost)
	return vhost
}

func newVHostName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "streambind-test-" + hex.EncodeToString(b[:])
}

// vhostPool hands out virtual hosts made ahead, in a test binary whose
// TestMain uses Main or Wrap: they are made a batch at a time in one
// rabbitmqctl call (each call starts an Erlang VM: about 0.7 s and as
// much CPU; a batch of 8 takes about 1 s), and each is handed to one test
// only, fresh, as VHost would make it. The batch grows with the number
// handed out (1, 1, 2, 4, then 8), so a binary that needs one or two
// makes no more. Main deletes them all, used or not.
type vhostPool struct {
	mu     sync.Mutex
	free   []string
	made   int
	failed bool // a batch could not be made: each test makes its own
}

var pool vhostPool

const maxVHostBatch = 8

// take returns a virtual host of the pool; false when Main does not run
// (the test makes and deletes its own) or the batch could not be made in
// one call (the test makes its own with the fallback).
func (p *vhostPool) take() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed {
		return "", false
	}
	if len(p.free) == 0 {
		n := min(max(p.made, 1), maxVHostBatch)
		batch := make([]string, n)
		for i := range batch {
			batch[i] = newVHostName()
		}
		// Registered for deletion first: a batch the eval made in part
		// is deleted too (a missing one is skipped).
		for _, v := range batch {
			if !pendingDeletes.add(v) {
				return "", false
			}
		}
		if !createVHosts(batch) {
			p.failed = true
			return "", false
		}
		p.free, p.made = batch, p.made+n
	}
	v := p.free[0]
	p.free = p.free[1:]
	return v, true
}

// deferred collects the virtual hosts whose tests ended, for Main to
// delete together. Package state: it belongs to the test binary, as Main
// does.
type deferred struct {
	mu     sync.Mutex
	on     bool
	vhosts []string
}

var pendingDeletes deferred

// add queues vhost for deletion by Main and reports whether Main runs.
func (d *deferred) add(vhost string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.on {
		d.vhosts = append(d.vhosts, vhost)
	}
	return d.on
}

// Main runs a test binary's tests (TestMain: os.Exit(rabbittest.Main(m)))
// and deletes the virtual hosts of its tests (VHost) once they all ended,
// in one rabbitmqctl call rather than one a test: each call starts an
// Erlang VM (about 0.8 s and a second of CPU on the test machine), and
// the rabbit package's tests make about fifty. A test binary killed before
// (a -timeout panic) leaves its virtual hosts behind, named
// streambind-test-<hex>.
func Main(m *testing.M) int { return Wrap(m).Run() }

// Wrap is Main for a TestMain that hands m on (goleak.VerifyTestMain):
// its Run is m's, with Main's deletion of the virtual hosts.
func Wrap(m interface{ Run() int }) interface{ Run() int } { return mainRun{m} }

type mainRun struct{ m interface{ Run() int } }

func (r mainRun) Run() int {
	pendingDeletes.mu.Lock()
	pendingDeletes.on = true
	pendingDeletes.mu.Unlock()
	code := r.m.Run()
	pendingDeletes.mu.Lock()
	vhosts := pendingDeletes.vhosts
	pendingDeletes.vhosts, pendingDeletes.on = nil, false
	pendingDeletes.mu.Unlock()
	if err := deleteVHosts(vhosts); err != nil {
		fmt.Fprintf(os.Stderr, "rabbittest: deleting the tests' virtual hosts: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// deleteVHosts deletes vhosts in one rabbitmqctl eval, else one
// delete_vhost each.
func deleteVHosts(vhosts []string) error {
	if len(vhosts) == 0 {
		return nil
	}
	list := make([]string, len(vhosts))
	for i, v := range vhosts {
		list[i] = "<<\"" + v + "\">>"
	}
	// A missing one is skipped (a pool batch made in part): otherwise
	// the eval fails and each is deleted with a call of its own.
	expr := `[case rabbit_vhost:exists(V) of true -> ok = rabbit_vhost:delete(V, <<"streambind-test">>); false -> ok end || V <- [` +
		strings.Join(list, ", ") + "]], ok."
	if out, err := exec.Command("rabbitmqctl", "eval", expr).CombinedOutput(); err == nil && strings.TrimSpace(string(out)) == "ok" {
		return nil
	}
	var errs []error
	for _, v := range vhosts {
		if out, err := exec.Command("rabbitmqctl", "delete_vhost", v).CombinedOutput(); err != nil && !strings.Contains(string(out), "does not exist") {
			errs = append(errs, fmt.Errorf("delete_vhost %s: %w: %s", v, err, out))
		}
	}
	return errors.Join(errs...)
}

// createVHosts creates vhosts with every permission for guest in one
// rabbitmqctl call (eval of the broker's own functions) and reports
// whether it succeeded.
func createVHosts(vhosts []string) bool {
	list := make([]string, len(vhosts))
	for i, v := range vhosts {
		list[i] = "<<\"" + v + "\">>"
	}
	expr := `[begin ok = rabbit_vhost:add(V, <<"streambind-test">>), ` +
		`ok = rabbit_auth_backend_internal:set_permissions(<<"guest">>, V, <<".*">>, <<".*">>, <<".*">>, <<"streambind-test">>) end || V <- [` +
		strings.Join(list, ", ") + "]], ok."
	out, err := exec.Command("rabbitmqctl", "eval", expr).CombinedOutput()
	return err == nil && strings.TrimSpace(string(out)) == "ok"
}

// createVHost creates vhost with every permission for guest in one
// rabbitmqctl call (eval of the broker's own functions), else with
// add_vhost and set_permissions: each call starts an Erlang VM (about
// 0.8 s and a second of CPU on the test machine), and the rabbit
// package's tests make about fifty virtual hosts.
func createVHost(t testing.TB, vhost string) {
	t.Helper()
	bin := "<<\"" + vhost + "\">>"
	expr := "ok = rabbit_vhost:add(" + bin + `, <<"streambind-test">>), ` +
		`ok = rabbit_auth_backend_internal:set_permissions(<<"guest">>, ` + bin + `, <<".*">>, <<".*">>, <<".*">>, <<"streambind-test">>), ok.`
	if out, err := exec.Command("rabbitmqctl", "eval", expr).CombinedOutput(); err == nil && strings.TrimSpace(string(out)) == "ok" {
		return
	}
	// add_vhost of a virtual host that exists (the eval made it and
	// failed later) succeeds too.
	Ctl(t, "add_vhost", vhost)
	SetPermissions(t, vhost, ".*", ".*", ".*")
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

// Channel returns a channel of a connection of the test's own to vhost
// (the test's view as an operator or another client); the connection is
// closed when the test ends.
func Channel(t testing.TB, vhost string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
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
