// Package kafkatest starts an in-process Kafka cluster (franz-go's kfake,
// which speaks the real Kafka protocol) for tests, examples and the demo.
//
//	c := kafkatest.Start(t)          // closed when the test ends
//	brokers := c.Brokers()           // "127.0.0.1:40123"
//	c.Kfake.ControlKey(...)          // fault injection
//
// It is the only package besides tests and the demo that imports kfake, so
// that the binder itself does not depend on it.
package kafkatest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Cluster is a running kfake cluster.
type Cluster struct {
	// Kfake is the cluster, for fault injection (Control, ControlKey,
	// KeepControl, Fault, ...) and administration.
	Kfake *kfake.Cluster
	addrs []string
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
	return &Cluster{Kfake: c, addrs: c.ListenAddrs()}, nil
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
func (c *Cluster) Addrs() []string { return append([]string(nil), c.addrs...) }

// Brokers returns the addresses comma-separated, as the binder's brokers
// setting and KAFKA_BROKERS take them.
func (c *Cluster) Brokers() string { return strings.Join(c.addrs, ",") }

// Close stops the cluster. It is idempotent.
func (c *Cluster) Close() { c.Kfake.Close() }
