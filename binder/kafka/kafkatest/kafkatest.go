// Package kafkatest starts an in-process Kafka cluster (franz-go's kfake,
// which speaks the real Kafka protocol) for tests, examples and the demo.
//
//	c := kafkatest.Start(t)          // closed when the test ends
//	brokers := c.Brokers()           // "127.0.0.1:40123"
//	c.Kfake.ControlKey(...)          // fault injection
//
//	r := kafkatest.StartRestartable(t) // same port and data after a restart
//	r.Close()                          // the cluster is gone
//	err := r.Restart()                 // and back, with its topics and offsets
//
// It is the only package besides tests and the demo that imports kfake, so
// that the binder itself does not depend on it.
package kafkatest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Cluster is a running kfake cluster.
type Cluster struct {
	// Kfake is the cluster, for fault injection (Control, ControlKey,
	// KeepControl, Fault, ...) and administration. Restart replaces it.
	Kfake *kfake.Cluster
	addrs []string

	opts []kfake.Opt // to restart with (without DataDir)
	// root holds a restartable cluster's data: run N (0 the first) in
	// root/N (see Restart); "" for a cluster without data kept.
	root string
	run  int
	mu   sync.Mutex // serialises Close and Restart
}

// New starts a cluster with opts (default: one broker; any kfake option can
// be given, e.g. kfake.NumBrokers, kfake.Ports, kfake.DataDir, kfake.TLS,
// kfake.EnableSASL). The caller closes it.
func New(opts ...kfake.Opt) (*Cluster, error) {
	all := append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)
	c, err := kfake.NewCluster(all...)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: start kfake cluster: %w", err)
	}
	return &Cluster{Kfake: c, addrs: c.ListenAddrs(), opts: all}, nil
}

// runDir is the data directory of run n of a cluster whose data is under
// root.
func runDir(root string, n int) string { return filepath.Join(root, strconv.Itoa(n)) }

// NewRestartable starts a one-broker cluster that keeps its port and its
// data (topics, records, committed offsets) under dir across Close and
// Restart (each run in a directory of its own: see Restart). The caller
// closes it.
func NewRestartable(dir string, opts ...kfake.Opt) (*Cluster, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("kafkatest: pick a port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return nil, fmt.Errorf("kafkatest: pick a port: %w", err)
	}
	opts = append([]kfake.Opt{kfake.Ports(port)}, opts...)
	c, err := New(append(opts, kfake.DataDir(runDir(dir, 0)))...)
	if err != nil {
		return nil, err
	}
	c.opts, c.root = append([]kfake.Opt{kfake.NumBrokers(1)}, opts...), dir
	return c, nil
}

// StartRestartable is NewRestartable for tb, with a temporary directory;
// the cluster is closed when the test ends.
func StartRestartable(tb testing.TB, opts ...kfake.Opt) *Cluster {
	tb.Helper()
	c, err := NewRestartable(tb.TempDir(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// Restart starts a closed cluster again with the options it was started
// with (for a cluster from NewRestartable: on the same port, with its
// data; any other gets a new port). It replaces c.Kfake; do not use the old one, nor call Restart
// while another goroutine reads c.Kfake.
//
// The new run reads a copy of the data the closed one left, in a
// directory of its own, never the closed run's files: kfake's Close can
// return while the closed cluster still writes them. A request whose
// control function (ControlKey; an observer too) was running when Close
// came is handled after Close saved the data directory and returned — a
// produce is appended to the partition's segment file then (its answer
// lost with the closed connection). A restarted cluster that had loaded
// the same files already took their size from the saved state, and after
// that append read every later batch of the partition from the wrong
// place: the first batch after the restart twice, the partition's last
// one never (seen as a lost output in TestPipelinedClusterRestart). The
// copy holds the stray record or not, as the closed run got to write it
// before the copy or not, like a broker that stopped right after or
// right before writing a record it did not acknowledge.
func (c *Cluster) Restart() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Kfake.Close()
	opts := c.opts
	if c.root != "" {
		from, to := runDir(c.root, c.run), runDir(c.root, c.run+1)
		if err := copyDir(from, to); err != nil {
			return fmt.Errorf("kafkatest: restart kfake cluster: copy its data: %w", err)
		}
		c.run++
		opts = append(slices.Clip(opts), kfake.DataDir(to))
	}
	k, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("kafkatest: restart kfake cluster: %w", err)
	}
	c.Kfake, c.addrs = k, k.ListenAddrs()
	return nil
}

// copyDir copies the directory tree from (directories and regular files)
// to to, which must not exist. A file the closed cluster appends to
// meanwhile is copied as far as it was written (kfake drops a partial
// batch at the end of a segment when it loads it); one it removed
// meanwhile (a temporary file renamed) is left out.
func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path != from {
			return nil
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.Mkdir(dst, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if err := copyFile(path, dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err // fs.ErrNotExist: removed since it was listed
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// Start starts a cluster for tb and closes it when the test ends.
func Start(tb testing.TB, opts ...kfake.Opt) *Cluster {
	tb.Helper()
	c, err := New(opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// Addrs returns the brokers' host:port addresses.
func (c *Cluster) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.addrs...)
}

// Brokers returns the addresses comma-separated, as the binder's brokers
// setting and KAFKA_BROKERS take them.
func (c *Cluster) Brokers() string { return strings.Join(c.Addrs(), ",") }

// Close stops the cluster. It is idempotent.
func (c *Cluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Kfake.Close()
}
