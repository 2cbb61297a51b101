package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// refusedAddr returns an address of this host where nothing listens: a
// connection to it is refused.
func refusedAddr(t *testing.T) string {
	t.Helper()
	// A socket bound to the port and not listening: a connection to it is
	// refused, and no other listener can take the port while the test
	// runs. (A listener's port freed by Close was taken, in one CI run, by
	// another test's proxy to RabbitMQ, which then answered.)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

// freeAddr returns an address of this host where nothing listens yet, for
// a listener the test starts there later (unlike refusedAddr's, the port
// is free: another test could take it meanwhile, which is unlikely in the
// moment before the listener starts).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// silentAddr returns the address of a listener that accepts connections
// and never answers (a broker that hangs, a firewall that swallows).
func silentAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

// connectService is a service of binder type typ whose broker is at
// ${ADDR}, with a password that no output may show.
func connectService(typ string) string {
	env := map[string]string{
		"rabbit": "addresses: ${ADDR}\n        username: app\n        password: s3cret-pw",
		"kafka":  "brokers: ${ADDR}",
		"nats":   "servers: nats://app:s3cret-pw@${ADDR}",
		"redis":  "address: ${ADDR}\n        password: s3cret-pw",
	}[typ]
	return serviceWith(typ, env)
}

// serviceWith is a service of binder type typ with binder environment env
// (YAML lines, indented by 8 after the first), its startup-timeout
// ${STARTUP:60s}.
func serviceWith(typ, env string) string {
	return fmt.Sprintf(`stream:
  function:
    definition: work
  default-binder: %[1]s
  binders:
    %[1]s:
      type: %[1]s
      startup-timeout: ${STARTUP:60s}
      environment:
        %[2]s
  bindings:
    work-in-0:
      destination: work
      group: g
      consumer:
        dlq: true
`, typ, env)
}

// runBounded runs the command and fails the test unless it returns within
// d; it returns the result and how long the run took.
func runBounded(t *testing.T, dir string, env []string, d time.Duration, args ...string) (result, time.Duration) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	start := time.Now()
	go func() {
		done <- run(ctx, args, &runEnv{dir: dir, env: env, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr})
	}()
	select {
	case code := <-done:
		return result{code: code, stdout: stdout.String(), stderr: stderr.String()}, time.Since(start)
	case <-time.After(d):
		cancel()
		<-done
		t.Fatalf("%v: still running after %s; stderr:\n%s", args, d, stderr.String())
		return result{}, 0
	}
}

// checkUnreachable checks the output of a command that gave up on binder
// typ's broker at addr after bound: exit status 1, one error naming the
// binder, its address and the bound, no password, at most one line saying
// it retries and none of the app's retry warnings.
func checkUnreachable(t *testing.T, args []string, r result, typ, addr, bound string) {
	t.Helper()
	if r.code != exitFailure {
		t.Errorf("%v: exit status %d, want %d; stderr:\n%s", args, r.code, exitFailure, r.stderr)
	}
	want := fmt.Sprintf("streambind: binder %s at ", typ)
	var errLine string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, want) && strings.Contains(l, "cannot reach the broker within "+bound+": ") {
			errLine = l
		}
	}
	if errLine == "" || !strings.Contains(errLine, addr) {
		t.Errorf("%v: no error naming binder %s, its address %s and the bound %s; stderr:\n%s", args, typ, addr, bound, r.stderr)
	}
	if strings.Contains(r.stderr, "s3cret-pw") {
		t.Errorf("%v: the password is shown:\n%s", args, r.stderr)
	}
	if r.stdout != "" {
		// dlq replay and purge printed "replayed 0 dead letters", which a
		// script reads as done.
		t.Errorf("%v: nothing was done, but stdout says %q", args, r.stdout)
	}
	if n := strings.Count(r.stderr, "retrying"); n > 1 || strings.Contains(r.stderr, "level=WARN") {
		t.Errorf("%v: %d lines say it retries (want at most one, and no warnings):\n%s", args, n, r.stderr)
	}
}

// TestConnectTimeout: send, tail and the dlq subcommands give up on a
// broker they cannot reach after --connect-timeout, for every binder type,
// whether its port refuses connections or accepts them and never answers
// (they waited the binder's startup-timeout, 60s by default, with a
// warning every few seconds; the dlq subcommands on Redis waited the
// binder's dial-timeout, 5s, on a silent port: its PING ended at its
// context's deadline only, and the subcommands' context has none).
func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	const bound = time.Second
	// Close to the bound (the runs take ~1.05s), with room for the
	// binders' shutdown and -race on a loaded machine of 2 cores.
	const within = bound + 3*time.Second
	addrs := map[string]string{"refused": refusedAddr(t), "silent": silentAddr(t)}
	cmds := [][]string{
		{"send", "--destination", "work", `{"a":1}`},
		{"tail", "--destination", "work"},
		{"dlq", "ls", "--binding", "work-in-0"},
	}
	// Every dlq subcommand connects the same way: checked where the
	// broker never answers.
	silentOnly := [][]string{
		{"dlq", "show", "1", "--binding", "work-in-0"},
		{"dlq", "replay", "--binding", "work-in-0"},
		{"dlq", "purge", "--yes", "--binding", "work-in-0"},
	}
	for _, typ := range []string{"rabbit", "kafka", "nats", "redis"} {
		dir := writeFiles(t, map[string]string{"application.yaml": connectService(typ)})
		for _, how := range []string{"refused", "silent"} {
			all := cmds
			if how == "silent" {
				all = append(append([][]string{}, cmds...), silentOnly...)
			}
			for _, c := range all {
				t.Run(typ+"/"+how+"/"+strings.Join(c[:2], "-"), func(t *testing.T) {
					t.Parallel()
					args := append(append([]string{}, c...), "--connect-timeout", bound.String())
					r, took := runBounded(t, dir, []string{"ADDR=" + addrs[how]}, within, args...)
					checkUnreachable(t, args, r, typ, addrs[how], "--connect-timeout (1s)")
					if took < bound {
						t.Errorf("%v: gave up after %s, before the bound", args, took)
					}
				})
			}
		}
	}
}

// TestConnectTimeoutDefault: without --connect-timeout the bound is 10s,
// not the app's 60s.
func TestConnectTimeoutDefault(t *testing.T) {
	t.Parallel()
	addr := refusedAddr(t)
	dir := writeFiles(t, map[string]string{"application.yaml": connectService("rabbit")})
	args := []string{"send", "--destination", "work", `{"a":1}`}
	r, _ := runBounded(t, dir, []string{"ADDR=" + addr}, defaultConnectTimeout+15*time.Second, args...)
	checkUnreachable(t, args, r, "rabbit", addr, "--connect-timeout (10s)")
}

// TestConnectTimeoutZeroWaitsAsTheApp: --connect-timeout 0 waits the
// binder's startup-timeout, as the app would; a startup-timeout shorter
// than --connect-timeout is the bound.
func TestConnectTimeoutZeroWaitsAsTheApp(t *testing.T) {
	t.Parallel()
	addr := refusedAddr(t)
	dir := writeFiles(t, map[string]string{"application.yaml": connectService("redis")})
	env := []string{"ADDR=" + addr, "STARTUP=1s"}
	for _, args := range [][]string{
		{"tail", "--destination", "work", "--connect-timeout", "0"},
		{"send", "--destination", "work", "{}"},
		{"dlq", "ls", "--binding", "work-in-0", "--connect-timeout", "0"},
	} {
		r, _ := runBounded(t, dir, env, 20*time.Second, args...)
		checkUnreachable(t, args, r, "redis", addr, "its startup-timeout (1s)")
	}
	r := runIn(t, dir, env, "send", "--destination", "work", "--connect-timeout", "-1s", "{}")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--connect-timeout must not be negative") {
		t.Errorf("negative --connect-timeout: exit status %d, stderr %q", r.code, r.stderr)
	}
}

// TestConnectBreakNATSTokenHidden: a NATS token given in the server URL
// (nats://TOKEN@host, as nats-server documents it) is a secret: the
// command's own "binder nats at ..." lines must not show it (the binder's
// error redacts it; binderAddress's redact.Value, made for
// user:password, did not).
func TestConnectBreakNATSTokenHidden(t *testing.T) {
	t.Parallel()
	addr := refusedAddr(t)
	dir := writeFiles(t, map[string]string{"application.yaml": secretService("nats", "servers: nats://s3cret-pw@${ADDR}")})
	for _, c := range [][]string{
		{"send", "--destination", "work", "{}"},
		{"tail", "--destination", "work"},
		{"dlq", "ls", "--binding", "work-in-0"},
	} {
		args := append(append([]string{}, c...), "--connect-timeout", "500ms")
		r, _ := runBounded(t, dir, []string{"ADDR=" + addr}, 20*time.Second, args...)
		if r.code != exitFailure || strings.Contains(r.stderr+r.stdout, "s3cret-pw") {
			t.Errorf("%v: exit %d; the token is shown:\n%s", args, r.code, r.stderr)
		}
	}
}

// TestConnectKafkaAddressAsTheBinder: the address in the error is the one
// the Kafka binder dials: a broker given without a port gets
// default-broker-port, as the binder adds it.
func TestConnectKafkaAddressAsTheBinder(t *testing.T) {
	t.Parallel()
	addr := refusedAddr(t)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(connectService("kafka"), "brokers: ${ADDR}", "brokers: "+host+"\n        default-broker-port: "+port, 1)
	dir := writeFiles(t, map[string]string{"application.yaml": y})
	args := []string{"send", "--destination", "work", "--connect-timeout", "1s", "{}"}
	r, _ := runBounded(t, dir, nil, 20*time.Second, args...)
	checkUnreachable(t, args, r, "kafka", host+":"+port, "--connect-timeout (1s)")
	if want := "binder kafka at " + host + ":" + port + ": cannot reach"; !strings.Contains(r.stderr, want) {
		t.Errorf("no %q in:\n%s", want, r.stderr)
	}
}
