package kafka

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go/compress"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

// envBase is an SCSt application.yaml with one function, enrich, on the
// Kafka binder; more may follow it.
const envBase = `spring:
  cloud:
    function:
      definition: enrich
    stream:
      bindings:
        enrich-in-0: { destination: orders, group: enricher }
        enrich-out-0: { destination: enriched }
`

// envConfig loads yaml with the environment variables env, as an app does.
func envConfig(t *testing.T, yaml string, env ...string) *stream.Config {
	t.Helper()
	return bindertest.LoadConfig(t, yaml, env...)
}

// envAppErr builds (does not run) the app of yaml and env with the Kafka
// binder and returns its error as lint shows it (key path and origin).
func envAppErr(t *testing.T, yaml string, env ...string) error {
	t.Helper()
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "enrich", func(_ context.Context, in map[string]any) (map[string]any, error) { return in, nil })
	_, err := stream.NewApp(envConfig(t, yaml, env...), fns, stream.WithBinderType(Type, New))
	return err
}

const envBinder = "SPRING_CLOUD_STREAM_KAFKA_BINDER_"

// TestEnvNestedKeys: the Kafka binder's nested sections set by environment
// variables with no file declaring them, as Spring's relaxed binding reads
// them: the binder's metrics and configuration (max.poll.records from
// ..._CONFIGURATION_MAX_POLL_RECORDS), a binding's configuration, topic
// and dlq-producer-properties, at binding and default level. Before, each
// but the metrics (a special case) was an "unknown key".
func TestEnvNestedKeys(t *testing.T) {
	cfg := envConfig(t, envBase,
		envBinder+"METRICS_OFFSETLAGMETRICSINTERVAL=5s",
		envBinder+"CONFIGURATION_MAX_POLL_RECORDS=7",
		envBinder+"PRODUCERPROPERTIES_LINGER_MS=20",
		"SPRING_CLOUD_STREAM_KAFKA_BINDINGS_ENRICH_IN_0_CONSUMER_TOPIC_REPLICATIONFACTOR=3",
		"SPRING_CLOUD_STREAM_KAFKA_BINDINGS_ENRICH_IN_0_CONSUMER_DLQPRODUCERPROPERTIES_COMPRESSION=gzip",
		"SPRING_CLOUD_STREAM_KAFKA_BINDINGS_ENRICH_IN_0_CONSUMER_DLQPRODUCERPROPERTIES_CONFIGURATION_LINGER_MS=30",
		"SPRING_CLOUD_STREAM_KAFKA_DEFAULT_PRODUCER_CONFIGURATION_BATCH_SIZE=4096",
	)
	st, err := parseSettings(stream.BinderSettingsOf(cfg, Type))
	if err != nil {
		t.Fatal(err)
	}
	if st.lagInterval != 5*time.Second {
		t.Errorf("lag interval %s, want the metrics section's 5s", st.lagInterval)
	}
	cons, _ := cfg.Extension(Type, "enrich-in-0")
	c, err := decodeConsumer(&st, "enrich-in-0", cons)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	if c.batchSize != 7 || c.replicationFactor != 3 {
		t.Errorf("consumer: batch size (max.poll.records) %d, replication factor %d; want 7 and 3", c.batchSize, c.replicationFactor)
	}
	if c.dlqProducer.compression != compress.Gzip || c.dlqProducer.batchTimeout != 30*time.Millisecond {
		t.Errorf("dlq producer: compression %v, linger %s; want gzip and 30ms", c.dlqProducer.compression, c.dlqProducer.batchTimeout)
	}
	_, prod := cfg.Extension(Type, "enrich-out-0")
	p, err := parseProducer(&st, "enrich-out-0", prod)
	if err != nil || p.batchTarget != 4096 || p.batchTimeout != 20*time.Millisecond {
		t.Errorf("producer: %v, batch.size %d (want the default's 4096), linger %s (want the binder's 20ms)", err, p.batchTarget, p.batchTimeout)
	}
}

// TestEnvOverridesNestedYAML: a binding's variable overrides the nested
// value the file sets as the default of every binding (before: an
// "unknown key"), and the binder's variable the file's binder value.
func TestEnvOverridesNestedYAML(t *testing.T) {
	cfg := envConfig(t, envBase+`      kafka:
        binder:
          metrics:
            offset-lag-metrics-interval: 3s
        default:
          consumer:
            configuration:
              max.poll.records: 3
            topic:
              replication-factor: 2
`, "SPRING_CLOUD_STREAM_KAFKA_BINDINGS_ENRICH_IN_0_CONSUMER_CONFIGURATION_MAX_POLL_RECORDS=9",
		"SPRING_CLOUD_STREAM_KAFKA_BINDINGS_ENRICH_IN_0_CONSUMER_TOPIC_REPLICATION_FACTOR=4",
		envBinder+"METRICS_OFFSETLAGMETRICSINTERVAL=6s")
	st, err := parseSettings(stream.BinderSettingsOf(cfg, Type))
	if err != nil {
		t.Fatal(err)
	}
	if st.lagInterval != 6*time.Second {
		t.Errorf("lag interval %s, want the variable's 6s", st.lagInterval)
	}
	cons, _ := cfg.Extension(Type, "enrich-in-0")
	c, err := decodeConsumer(&st, "enrich-in-0", cons)
	if err != nil || c.batchSize != 9 || c.replicationFactor != 4 {
		t.Errorf("consumer: %v, max.poll.records %d, replication factor %d; want the variables' 9 and 4", err, c.batchSize, c.replicationFactor)
	}
}

// TestEnvNestedKeyErrors: a wrong sub-key given by a variable is reported
// at the key as the variable spells it, with the variable's name, the key
// meant and the section's keys; before, it was an "unknown key" listing
// the binder's or the binding's keys.
func TestEnvNestedKeyErrors(t *testing.T) {
	for env, wants := range map[string][]string{
		envBinder + "METRICS_OFFSETLAGMETRICSINTERVL=5s": {
			"stream.kafka.binder.metrics-offsetlagmetricsintervl (env " + envBinder + "METRICS_OFFSETLAGMETRICSINTERVL)",
			"did you mean offset-lag-metrics-interval?", "metrics accepts default-offset-lag-metrics-enabled, offset-lag-metrics-interval",
		},
		"SPRING_CLOUD_STREAM_KAFKA_BINDINGS_ENRICH_IN_0_CONSUMER_TOPIC_REPLICATIONFACTR=3": {
			"stream.kafka.bindings.enrich-in-0.consumer.topic-replicationfactr (env SPRING_CLOUD_STREAM_KAFKA_BINDINGS_ENRICH_IN_0_CONSUMER_TOPIC_REPLICATIONFACTR)",
			"did you mean replication-factor?", "known: replication-factor",
		},
		envBinder + "CONFIGURATION_MAX_POLL_RECORD=5": {
			"stream.kafka.binder.configuration-max-poll-record (env " + envBinder + "CONFIGURATION_MAX_POLL_RECORD)",
		},
	} {
		err := envAppErr(t, envBase, env)
		for _, want := range wants {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error does not say %q: %v", env, want, err)
			}
		}
	}
}
