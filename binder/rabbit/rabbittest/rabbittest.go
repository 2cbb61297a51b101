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
	"strconv"
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
// in a test binary whose TestMain uses Main or Wrap, after its test ended,
// with others in one call; there it is taken from virtual hosts made a
// batch at a time (vhostPool), unused until then.
func VHost(t testing.TB) string {
	t.Helper()
	RequireCtl(t)
	if vhost, ok := pool.take(); ok {
		// Deleted with others once its test ended, or when the
		// package's tests end (Main).
		t.Cleanup(func() { pendingDeletes.finished(vhost) })
		return vhost
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
// much CPU, 3-8 s on the loaded test machine; a batch of 8 takes about
// 1 s), and each is handed to one test only, fresh, as VHost would make
// it. The batch grows with the number handed out (1, 1, 2, 4, 8, then
// 16), so a binary that needs one or two makes no more. Once it made
// prefetchAfter, the next batch is made in the background when half of
// the last is handed out, so that tests do not wait for it (they all
// waited for each batch, a minute in all in the rabbit package under
// load). Main deletes them all, used or not.
type vhostPool struct {
	mu      sync.Mutex
	free    []string
	made    int
	failed  bool          // a batch could not be made: each test makes its own
	filling chan struct{} // closed when the batch being made is done; nil when none is
}

var pool vhostPool

const (
	maxVHostBatch = 16
	prefetchAfter = 8
)

// take returns a virtual host of the pool; false when Main does not run
// (the test makes and deletes its own) or the batch could not be made in
// one call (the test makes its own with the fallback).
func (p *vhostPool) take() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.free) == 0 {
		if p.failed {
			return "", false
		}
		if p.filling == nil && !p.fillLocked() {
			return "", false
		}
		done := p.filling
		p.mu.Unlock()
		<-done
		p.mu.Lock()
	}
	v := p.free[0]
	p.free = p.free[1:]
	if p.made >= prefetchAfter && p.filling == nil && !p.failed && len(p.free) <= min(max(p.made, 1), maxVHostBatch)/2 {
		p.fillLocked()
	}
	return v, true
}

// fillLocked starts making the next batch (p.filling); false when Main
// does not run. p.mu is held.
func (p *vhostPool) fillLocked() bool {
	n := min(max(p.made, 1), maxVHostBatch)
	batch := make([]string, n)
	for i := range batch {
		batch[i] = newVHostName()
	}
	// Registered for deletion first: a batch the eval made in part
	// is deleted too (a missing one is skipped).
	for _, v := range batch {
		if !pendingDeletes.add(v) {
			return false
		}
	}
	done := make(chan struct{})
	p.filling = done
	p.made += n
	go func() {
		ok := createVHosts(batch)
		p.mu.Lock()
		defer p.mu.Unlock()
		if ok {
			p.free = append(p.free, batch...)
		} else {
			p.failed = true
		}
		p.filling = nil
		close(done)
	}()
	return true
}

// deferred collects the virtual hosts of the pool and of the tests
// that ended, for Main to delete together; the pool's that a test used
// are deleted deleteBatch at a time in the background once their tests
// ended (the deletion of all at the end took up to 10 s under load).
// Package state: it belongs to the test binary, as Main does.
type deferred struct {
	mu       sync.Mutex
	on       bool
	vhosts   []string
	done     []string // used, their tests ended, not yet deleted
	deleted  map[string]bool
	deleting chan struct{} // closed when the background deletion ends; nil when none runs
}

var pendingDeletes deferred

const deleteBatch = 16

// add queues vhost for deletion by Main and reports whether Main runs.
func (d *deferred) add(vhost string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.on {
		d.vhosts = append(d.vhosts, vhost)
	}
	return d.on
}

// finished notes that the test of the pool's vhost ended; once
// deleteBatch did, they are deleted in the background (Main deletes what
// is left).
func (d *deferred) finished(vhost string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.on {
		return
	}
	d.done = append(d.done, vhost)
	if len(d.done) < deleteBatch || d.deleting != nil {
		return
	}
	batch := d.done
	d.done = nil
	ch := make(chan struct{})
	d.deleting = ch
	go func() {
		// Without the fallback of one call per virtual host: what the
		// eval did not delete is left to Main.
		err := evalDeleteVHosts(batch)
		d.mu.Lock()
		defer d.mu.Unlock()
		if err == nil {
			if d.deleted == nil {
				d.deleted = map[string]bool{}
			}
			for _, v := range batch {
				d.deleted[v] = true
			}
		} else { // Main deletes them with the rest
			fmt.Fprintf(os.Stderr, "rabbittest: %v (left for the end of the tests)\n", err)
		}
		d.deleting = nil
		close(ch)
	}()
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
	pendingDeletes.on = false
	if ch := pendingDeletes.deleting; ch != nil {
		pendingDeletes.mu.Unlock()
		<-ch
		pendingDeletes.mu.Lock()
	}
	var vhosts []string
	for _, v := range pendingDeletes.vhosts {
		if !pendingDeletes.deleted[v] {
			vhosts = append(vhosts, v)
		}
	}
	pendingDeletes.vhosts, pendingDeletes.done, pendingDeletes.deleted = nil, nil, nil
	pendingDeletes.mu.Unlock()
	// A batch the pool was still making is deleted too.
	pool.mu.Lock()
	filling := pool.filling
	pool.mu.Unlock()
	if filling != nil {
		<-filling
	}
	if err := deleteVHosts(vhosts); err != nil {
		fmt.Fprintf(os.Stderr, "rabbittest: deleting the tests' virtual hosts: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// deleteVHosts deletes vhosts in one rabbitmqctl eval, tried twice (a
// failed eval, seen now and then at the end of a package's tests, fell
// back at once to one delete_vhost a virtual host: 30-60 s for the thirty
// of e2e/scst), else one delete_vhost each.
func deleteVHosts(vhosts []string) error {
	if len(vhosts) == 0 {
		return nil
	}
	var err error
	for range 2 {
		if err = evalDeleteVHosts(vhosts); err == nil {
			return nil
		}
		fmt.Fprintf(os.Stderr, "rabbittest: %v\n", err)
	}
	var errs []error
	for _, v := range vhosts {
		if out, err := exec.Command("rabbitmqctl", "delete_vhost", v).CombinedOutput(); err != nil && !strings.Contains(string(out), "does not exist") {
			errs = append(errs, fmt.Errorf("delete_vhost %s: %w: %s", v, err, out))
		}
	}
	return errors.Join(errs...)
}

// evalDeleteVHosts deletes vhosts in one rabbitmqctl eval; a missing
// one is skipped (a pool batch made in part, or one deleted before).
func evalDeleteVHosts(vhosts []string) error {
	list := make([]string, len(vhosts))
	for i, v := range vhosts {
		list[i] = erlBinary(v)
	}
	expr := `[case rabbit_vhost:exists(V) of true -> ok = rabbit_vhost:delete(V, <<"streambind-test">>); false -> ok end || V <- [` +
		strings.Join(list, ", ") + "]], ok."
	out, err := exec.Command("rabbitmqctl", "eval", expr).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		return fmt.Errorf("rabbitmqctl eval deleting %d virtual hosts: %v: %.500s", len(vhosts), err, out)
	}
	return nil
}

// createVHosts creates vhosts with every permission for guest in one
// rabbitmqctl call (eval of the broker's own functions) and reports
// whether it succeeded.
func createVHosts(vhosts []string) bool {
	list := make([]string, len(vhosts))
	for i, v := range vhosts {
		list[i] = erlBinary(v)
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
	bin := erlBinary(vhost)
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
//
// It lists and closes them in one rabbitmqctl eval: each rabbitmqctl call
// starts an Erlang VM (about 0.8 s, 3-4 s on the loaded test machine), and
// listing then closing each connection with a call of its own made a
// closing of a binder's two connections take three. Should the eval fail,
// it falls back to list_connections and close_connection.
func CloseConnections(t testing.TB, vhost, namePrefix string) int {
	t.Helper()
	RequireCtl(t)
	// A connection that closed meanwhile is skipped (catch), as is one
	// of another vhost or name.
	expr := `VH = ` + erlBinary(vhost) + `, Pre = ` + erlBinary(namePrefix) + `, ` +
		`length([P || P <- rabbit_networking:connections(), ` +
		`case catch rabbit_networking:connection_info(P, [vhost, client_properties]) of ` +
		`[{vhost, VH}, {client_properties, CP}] -> ` +
		`Name = case lists:keyfind(<<"connection_name">>, 1, CP) of {_, longstr, N} -> N; _ -> <<>> end, ` +
		`string:prefix(Name, Pre) =/= nomatch andalso ` +
		`(catch rabbit_networking:close_connection(P, "closed by a streambind test")) =:= ok; ` +
		`_ -> false end]).`
	out, err := exec.Command("rabbitmqctl", "eval", expr).CombinedOutput()
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
			return n
		}
	}
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

// erlBinary is s as an Erlang binary literal (UTF-8), for rabbitmqctl eval.
func erlBinary(s string) string {
	return "<<" + strconv.Quote(s) + "/utf8>>"
}
