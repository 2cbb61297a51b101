// Package redistest helps tests that need Redis: it finds the shared local
// server (failing in CI, skipping loudly elsewhere when it is absent),
// gives each test a key prefix of its own and deletes that test's keys at
// the end (never FLUSHDB: the server is shared), closes a test's own
// connections by client name, and starts a redis-server of a test's own
// on a free loopback port that the test may configure, stop and restart
// without disturbing anyone else.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Addr returns the address (host:port) of the shared server the tests
// use: that of $REDIS_URL (redis://host:port, as the demo and the Makefile
// use it), else $REDIS_ADDR (host:port, the former name), default
// 127.0.0.1:6379. A REDIS_URL that does not parse is ignored.
func Addr() string {
	if u := strings.TrimSpace(os.Getenv("REDIS_URL")); u != "" {
		if o, err := goredis.ParseURL(u); err == nil {
			return o.Addr
		}
	}
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return strings.TrimSpace(a)
	}
	return "127.0.0.1:6379"
}

// Client returns a plain client of the server at addr (with optional
// username and password), closed when the test ends.
func Client(t testing.TB, addr, username, password string) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{
		Addr: addr, Username: username, Password: password,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Require skips the test when the shared server does not answer, unless
// CI=true, where that fails it.
func Require(t testing.TB) {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: Addr(), DialTimeout: 2 * time.Second, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := c.Ping(ctx).Err()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("Redis is required in CI but not reachable at %s: %v", Addr(), err)
	}
	t.Skipf("!!! SKIPPED: Redis not reachable at %s (%v); start it with `redis-server` !!!", Addr(), err)
}

// Prefix returns a key prefix unique to the test ("sbtest:<name>:<id>:")
// and deletes every key under it on the shared server when the test ends.
func Prefix(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := b.String()
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	prefix := "sbtest:" + name + ":" + uuid.NewString()[:8] + ":"
	t.Cleanup(func() {
		if n, err := DeletePrefix(context.Background(), Addr(), "", "", prefix); err != nil {
			t.Logf("redistest cleanup of %s*: %v (%d keys deleted)", prefix, err, n)
		}
	})
	return prefix
}

// DeletePrefix deletes every key that starts with prefix (SCAN and
// UNLINK, never FLUSHDB) and returns how many it deleted.
func DeletePrefix(ctx context.Context, addr, username, password, prefix string) (int, error) {
	if prefix == "" || strings.ContainsAny(prefix, "*?[]\\") {
		return 0, fmt.Errorf("refusing to delete keys under prefix %q", prefix)
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr, Username: username, Password: password, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n := 0
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return n, err
		}
		if len(keys) > 0 {
			if err := c.Unlink(ctx, keys...).Err(); err != nil {
				return n, err
			}
			n += len(keys)
		}
		if next == 0 {
			return n, nil
		}
		cursor = next
	}
}

// ClientIDs returns the IDs of the connections named name (CLIENT
// SETNAME) on the server c is connected to.
func ClientIDs(ctx context.Context, c *goredis.Client, name string) ([]int64, error) {
	list, err := c.ClientList(ctx).Result()
	if err != nil {
		return nil, err
	}
	var ids []int64
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		var id int64 = -1
		var n string
		for _, f := range strings.Fields(sc.Text()) {
			switch {
			case strings.HasPrefix(f, "id="):
				id, _ = strconv.ParseInt(f[3:], 10, 64)
			case strings.HasPrefix(f, "name="):
				n = f[5:]
			}
		}
		if n == name && id >= 0 {
			ids = append(ids, id)
		}
	}
	return ids, sc.Err()
}

// KillClients closes the connections named name (and only those: the
// test's own) with CLIENT KILL ID, and returns how many it closed. name
// must be unique to the test.
func KillClients(ctx context.Context, c *goredis.Client, name string) (int, error) {
	if name == "" || name == "streambind" {
		return 0, fmt.Errorf("refusing to kill connections named %q: use a name unique to the test", name)
	}
	ids, err := ClientIDs(ctx, c, name)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		k, err := c.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Result()
		if err != nil {
			return n, err
		}
		n += int(k)
	}
	return n, nil
}

// Binary is the redis-server executable: $REDIS_SERVER_BIN, else
// redis-server on $PATH, else /usr/bin/redis-server.
func Binary() string {
	if b := os.Getenv("REDIS_SERVER_BIN"); b != "" {
		return b
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	return "/usr/bin/redis-server"
}

// Server is a redis-server of the test's own, on a loopback port.
type Server struct {
	t    testing.TB
	Port int
	args []string
	dir  string
	tls  bool

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// StartServer starts a redis-server on a free loopback port with no
// persistence, plus args (redis-server command-line options such as
// "--requirepass", "pw"), and stops it when the test ends. It skips the
// test when redis-server is not installed (fails in CI).
func StartServer(t testing.TB, args ...string) *Server {
	t.Helper()
	return startServer(t, false, args)
}

func startServer(t testing.TB, tls bool, args []string) *Server {
	t.Helper()
	bin := Binary()
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is required in CI: %v", err)
		}
		t.Skipf("!!! SKIPPED: no redis-server (%v) !!!", err)
	}
	s := &Server{t: t, Port: freePort(t), args: args, dir: t.TempDir(), tls: tls}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// StartTLSServer is StartServer for a server that accepts TLS
// connections only (--port 0 --tls-port), with the given certificate, key
// and CA files (PEM); clients need no certificate of their own.
func StartTLSServer(t testing.TB, certFile, keyFile, caFile string, args ...string) *Server {
	t.Helper()
	return startServer(t, true, append([]string{"--tls-cert-file", certFile, "--tls-key-file", keyFile,
		"--tls-ca-cert-file", caFile, "--tls-auth-clients", "no"}, args...))
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts the server (again, on the same port) and waits until it
// accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	port := []string{"--port", strconv.Itoa(s.Port)}
	if s.tls {
		port = []string{"--port", "0", "--tls-port", strconv.Itoa(s.Port)}
	}
	args := append(append(port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning",
		"--logfile", filepath.Join(s.dir, "redis.log")), s.args...)
	cmd := exec.Command(Binary(), args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case <-done:
			s.cmd = nil
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server %v exited at start:\n%s", args, log)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s does not accept connections: %v", s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops the server (SIGKILL: no goodbye to clients) and waits for it
// to exit. It is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.t.Errorf("redis-server on %s did not exit", s.Addr())
	}
	s.cmd = nil
}
