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
	"fmt"
	"net"
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

	opts []kfake.Opt // to restart with
	mu   sync.Mutex  // serialises Close and Restart
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

// NewRestartable starts a one-broker cluster that keeps its port and its
// data (topics, records, committed offsets) in dir across Close and
// Restart. The caller closes it.
func NewRestartable(dir string, opts ...kfake.Opt) (*Cluster, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("kafkatest: pick a port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return nil, fmt.Errorf("kafkatest: pick a port: %w", err)
	}
	return New(append([]kfake.Opt{kfake.DataDir(dir), kfake.Ports(port)}, opts...)...)
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
func (c *Cluster) Restart() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Kfake.Close()
	k, err := kfake.NewCluster(c.opts...)
	if err != nil {
		return fmt.Errorf("kafkatest: restart kfake cluster: %w", err)
	}
	c.Kfake, c.addrs = k, k.ListenAddrs()
	return nil
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
