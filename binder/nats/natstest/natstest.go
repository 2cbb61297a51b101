// Package natstest helps tests that need NATS with JetStream: it finds the
// shared local server (failing in CI, skipping loudly elsewhere when it is
// absent), deletes the streams a test made, and starts a nats-server of a
// test's own — on a free loopback port, with its own store directory and
// optional configuration — that the test may stop and restart without
// disturbing anyone else.
package natstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// URL returns the shared server the tests use: $NATS_URL, default
// nats://127.0.0.1:4222.
func URL() string {
	if u := os.Getenv("NATS_URL"); u != "" {
		return strings.TrimSpace(strings.Split(u, ",")[0])
	}
	return "nats://127.0.0.1:4222"
}

// Require skips the test when the shared server does not answer, unless
// CI=true, where that fails it.
func Require(t testing.TB) {
	t.Helper()
	nc, err := natsgo.Connect(URL(), natsgo.Timeout(2*time.Second))
	if err == nil {
		nc.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("NATS is required in CI but not reachable at %s: %v", URL(), err)
	}
	t.Skipf("!!! SKIPPED: NATS not reachable at %s (%v); start it with `nats-server -js` !!!", URL(), err)
}

// DeleteStreams deletes, when the test ends, the streams names returns
// then (a missing one is fine), on the server at url.
func DeleteStreams(t testing.TB, url string, names func() []string) {
	t.Helper()
	atCleanup(t, url, func(js jetstream.JetStream) {
		for _, n := range names() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := js.DeleteStream(ctx, n); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Logf("natstest cleanup: delete stream %s: %v", n, err)
			}
			cancel()
		}
	})
}

// atCleanup runs f, when the test ends, with JetStream on a connection of
// its own to the server at url (logging, not failing, when it cannot
// connect).
func atCleanup(t testing.TB, url string, f func(jetstream.JetStream)) {
	t.Cleanup(func() {
		nc, err := natsgo.Connect(url, natsgo.Timeout(2*time.Second))
		if err != nil {
			t.Logf("natstest cleanup: %v", err)
			return
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Logf("natstest cleanup: %v", err)
			return
		}
		f(js)
	})
}

// DeleteKeyValueBuckets deletes, when the test ends, the key-value
// buckets on the server at url whose names start with prefix (the
// streams KV_<prefix>...): a test that gives the binder a dlq-claim-bucket
// of its own removes it and the buckets of other leases made from it.
func DeleteKeyValueBuckets(t testing.TB, url, prefix string) {
	t.Helper()
	if prefix == "" {
		t.Fatal("natstest: DeleteKeyValueBuckets needs a prefix of the test's own")
	}
	atCleanup(t, url, func(js jetstream.JetStream) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		names := js.StreamNames(ctx)
		var found []string
		for n := range names.Name() {
			if strings.HasPrefix(n, "KV_"+prefix) {
				found = append(found, n)
			}
		}
		if err := names.Err(); err != nil {
			t.Logf("natstest cleanup: list buckets %s*: %v", prefix, err)
		}
		for _, n := range found {
			if err := js.DeleteStream(ctx, n); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Logf("natstest cleanup: delete bucket stream %s: %v", n, err)
			}
		}
	})
}

// Binary is the nats-server executable: $NATS_SERVER_BIN, else
// nats-server on $PATH, else /usr/sbin/nats-server.
func Binary() string {
	if b := os.Getenv("NATS_SERVER_BIN"); b != "" {
		return b
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	return "/usr/sbin/nats-server"
}

// Server is a nats-server with JetStream that one test owns.
type Server struct {
	t      testing.TB
	port   int
	dir    string
	config string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Options configure a Server.
type Options struct {
	// Config is the text of a nats-server configuration file (for
	// authorization, max_payload ...); listen address, JetStream and its
	// store directory are given on the command line.
	Config string
}

// Start starts a server on a free loopback port with a store directory of
// its own; it is killed when the test ends. It skips the test when there
// is no nats-server binary (and fails in CI).
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if _, err := os.Stat(Binary()); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("nats-server is required in CI: %v", err)
		}
		t.Skipf("!!! SKIPPED: no nats-server binary (%v) !!!", err)
	}
	s := &Server{t: t, dir: t.TempDir()}
	s.port = freePort(t)
	if o.Config != "" {
		s.config = filepath.Join(s.dir, "nats.conf")
		if err := os.WriteFile(s.config, []byte(o.Config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s.start()
	t.Cleanup(func() { s.Stop() })
	return s
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

// URL is the server's address, nats://127.0.0.1:<port>.
func (s *Server) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *Server) start() {
	s.t.Helper()
	args := []string{"-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js", "-sd", filepath.Join(s.dir, "store")}
	if s.config != "" {
		args = append(args, "-c", s.config)
	}
	cmd := exec.Command(Binary(), args...)
	log, err := os.OpenFile(filepath.Join(s.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		s.t.Fatalf("starting nats-server: %v", err)
	}
	log.Close()
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
			s.t.Fatalf("nats-server did not listen on %s within 10s: %v\n%s", s.Addr(), err, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (SIGKILL: a crash; what JetStream acknowledged is
// in the store directory's files) and waits for it to exit. Idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}

// Restart stops the server and starts it again on the same port with the
// same store, returning once it listens.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Log returns what the server logged so far.
func (s *Server) Log() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "server.log"))
	if err != nil {
		return fmt.Sprint(err)
	}
	return string(b)
}
