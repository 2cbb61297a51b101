package kafka

import (
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestSCStMetricsAndDefaults: SCSt's binder metrics section is read (its
// offset-lag-metrics-interval is lag-interval, nested or as one key from
// an environment variable; default-offset-lag-metrics-enabled: true is
// accepted), auto-alter-topics: false, reactive-at-most-once and
// reactive-auto-commit: false and tx-commit-recovered: true (SCSt's
// defaults) are accepted, and other values are refused with the reason.
// Before, metrics and auto-alter-topics were unknown keys and the
// reactive keys and tx-commit-recovered were refused at their defaults.
func TestSCStMetricsAndDefaults(t *testing.T) {
	st, err := parseSettings(stream.BinderSettings{Name: "k", Type: Type,
		Binder: map[string]any{"metrics": map[string]any{"offsetLagMetricsInterval": 30000, "default-offset-lag-metrics-enabled": true},
			"auto-alter-topics": false}})
	if err != nil {
		t.Fatal(err)
	}
	if st.lagInterval != 30*time.Second {
		t.Errorf("lag interval %s, want 30s (metrics.offset-lag-metrics-interval)", st.lagInterval)
	}
	st, err = parseSettings(stream.BinderSettings{Name: "k", Type: Type,
		Environment: map[string]any{"metrics-offset-lag-metrics-interval": "5s"}})
	if err != nil || st.lagInterval != 5*time.Second {
		t.Errorf("environment-variable form: lag interval %s, %v; want 5s", st.lagInterval, err)
	}
	if _, err := parseConsumer("in-0", map[string]any{"reactive-at-most-once": false, "reactiveAutoCommit": "false", "tx-commit-recovered": true}); err != nil {
		t.Errorf("SCSt's defaults refused: %v", err)
	}

	_, err = parseSettings(stream.BinderSettings{Name: "k", Type: Type,
		Binder: map[string]any{"metrics": map[string]any{"default-offset-lag-metrics-enabled": false, "bogus": 1},
			"autoAlterTopics": true, "certificate-store-directory": "/tmp"}})
	for _, want := range []string{
		"stream.kafka.binder.metrics.default-offset-lag-metrics-enabled: false is not supported: the consumer lag is always computed",
		"stream.kafka.binder.metrics.bogus: unknown key",
		"stream.kafka.binder.autoAlterTopics: true is not supported: topic configurations are never altered",
		"stream.kafka.binder.certificate-store-directory: not supported: it is where SCSt copies key and trust stores out of the classpath",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	_, err = parseConsumer("in-0", map[string]any{"reactive-at-most-once": true, "tx-commit-recovered": false})
	for _, want := range []string{
		"consumer.reactive-at-most-once: true is not supported: there are no reactive functions",
		"consumer.tx-commit-recovered: false is not supported: exactly-once transactions",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
}

// TestSCStZooKeeperKeysAccepted: the ZooKeeper keys SCSt's Kafka binder
// has not used since 2.0 (zkNodes, defaultZkPort, zkSessionTimeout,
// zkConnectionTimeout) are accepted and change nothing, as in SCSt, where
// the official two-cluster sample still sets zkNodes in each binder's
// environment (e2e/scst/testdata/real/s05-two-kafka-clusters). Before,
// they were unknown keys and start-up failed.
func TestSCStZooKeeperKeysAccepted(t *testing.T) {
	st, err := parseSettings(stream.BinderSettings{Name: "k", Type: Type,
		Environment: map[string]any{"brokers": "b1:9092", "zkNodes": "zk1:2181,zk2:2181", "default-zk-port": 2181,
			"zkSessionTimeout": 10000, "zk-connection-timeout": "10000"}})
	if err != nil {
		t.Fatalf("ZooKeeper keys refused: %v", err)
	}
	if len(st.brokers) != 1 || st.brokers[0] != "b1:9092" {
		t.Errorf("brokers %v, want [b1:9092]", st.brokers)
	}
	// At any value, as in SCSt (which ignores them) and as the loader
	// takes them outside a binder's environment (an ignored key, warned):
	// a81398d refused a value that was no number or list.
	if _, err = parseSettings(stream.BinderSettings{Name: "k", Type: Type,
		Environment: map[string]any{"brokers": "b1:9092", "zkSessionTimeout": "soon", "defaultZkPort": "${zk.port}", "zkNodes": map[string]any{"a": 1}}}); err != nil {
		t.Errorf("ZooKeeper keys refused at another value: %v", err)
	}
	// A near miss is still an unknown key.
	for _, k := range []string{"zkNode", "zkSessionTimout", "defaultZkPorts"} {
		if _, err = parseSettings(stream.BinderSettings{Name: "k", Type: Type,
			Environment: map[string]any{"brokers": "b1:9092", k: "x"}}); err == nil || !strings.Contains(err.Error(), "unknown key") {
			t.Errorf("%s: %v, want an unknown key", k, err)
		}
	}
}
