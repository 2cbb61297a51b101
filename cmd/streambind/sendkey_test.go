package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// keyedRecord is a record as the test reads it back.
type keyedRecord struct {
	key       string
	partition int32
	headers   map[string]string
}

// readRecords reads n records of topic from its start with a franz-go
// client.
func readRecords(t *testing.T, brokers, topic string, n int) []keyedRecord {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []keyedRecord
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d records of %s within 30s: %v", len(out), n, topic, out)
		}
		fs.EachRecord(func(r *kgo.Record) {
			h := map[string]string{}
			for _, rh := range r.Headers {
				h[rh.Key] = string(rh.Value)
			}
			out = append(out, keyedRecord{key: string(r.Key), partition: r.Partition, headers: h})
		})
	}
	return out
}

// murmur2Partition is the partition Kafka's default partitioner (a Java
// client's, franz-go's) picks for key among n partitions.
func murmur2Partition(key string, n int) int32 {
	p := kgo.StickyKeyPartitioner(nil).ForTopic("t")
	return int32(p.Partition(&kgo.Record{Key: []byte(key)}, n))
}

// TestSendKeyUnpartitionedKafka: send --key on a binding that is not
// partitioned (no partition-key-expression; partition-count alone only
// sizes the topic) and with --destination sets the record key only: the
// partition is the one Kafka's default partitioner (murmur2 of the key)
// picks, as for the app's keyed message or any Java producer, and no
// scst_partition header is written. It selected the partition by SCSt's
// Java hash (kk, c, order-2 on partitions 1, 0, 1 of 3 instead of 0, 1, 0) and
// wrote scst_partition. A partitioned binding keeps SCSt's selection, with
// the key in place of its partition-key-expression.
func TestSendKeyUnpartitionedKafka(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	suffix := time.Now().UnixNano()
	plain, parted := fmt.Sprintf("cli-key-%d", suffix), fmt.Sprintf("cli-keyp-%d", suffix)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(`stream:
  function:
    definition: emit;route
  default-binder: kafka
  binders:
    kafka:
      type: kafka
      environment:
        brokers: ${KAFKA_BROKERS}
  bindings:
    emit-out-0:
      destination: %s
      producer:
        partition-count: 3
    route-out-0:
      destination: %s
      producer:
        partition-key-expression: payload.id
        partition-count: 3
`, plain, parted)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	createTopic(t, c.Brokers(), plain, 3)
	createTopic(t, c.Brokers(), parted, 3)

	// The port trial's keys, whose murmur2 partitions (0, 1, 0 of 3)
	// differ from SCSt's Java-hash ones (1, 0, 1).
	keys := []string{"kk", "c", "order-2"}
	for _, k := range keys {
		if murmur2Partition(k, 3) == int32(stream.SelectPartition(stream.PartitionHash(k), 3)) {
			t.Fatalf("key %q: murmur2 and SCSt pick the same partition; the test would not tell them apart", k)
		}
	}
	for _, k := range keys {
		for _, where := range [][]string{{"--binding", "emit-out-0"}, {"--destination", plain}} {
			r := runIn(t, dir, env, append(append([]string{"send"}, where...), "--key", k, `{"id":"x"}`)...)
			if r.code != exitOK {
				t.Fatalf("send %v --key %s: exit status %d, stderr %q", where, k, r.code, r.stderr)
			}
		}
		r := runIn(t, dir, env, "send", "--binding", "route-out-0", "--key", k, `{"id":"x"}`)
		if r.code != exitOK {
			t.Fatalf("send --binding route-out-0 --key %s: exit status %d, stderr %q", k, r.code, r.stderr)
		}
	}

	sent := map[string]bool{}
	for _, k := range keys {
		sent[k] = true
	}
	for _, rec := range readRecords(t, c.Brokers(), plain, 2*len(keys)) {
		if !sent[rec.key] {
			t.Errorf("unpartitioned: record key %q, want one of %v", rec.key, keys)
		}
		if want := murmur2Partition(rec.key, 3); rec.partition != want {
			t.Errorf("unpartitioned, key %q: partition %d, want %d (Kafka's default partitioner, murmur2)", rec.key, rec.partition, want)
		}
		if v, ok := rec.headers[stream.HeaderPartition]; ok {
			t.Errorf("unpartitioned, key %q: header %s=%q written", rec.key, stream.HeaderPartition, v)
		}
	}
	for _, rec := range readRecords(t, c.Brokers(), parted, len(keys)) {
		if !sent[rec.key] {
			t.Errorf("partitioned: record key %q, want one of %v (--key is the record key)", rec.key, keys)
		}
		want := int32(stream.SelectPartition(stream.PartitionHash(rec.key), 3))
		if rec.partition != want || rec.headers[stream.HeaderPartition] != fmt.Sprint(want) {
			t.Errorf("partitioned, key %q: partition %d, scst_partition %q; want %d (SCSt's selection)", rec.key, rec.partition, rec.headers[stream.HeaderPartition], want)
		}
	}
}

// TestTailIgnoresDefaultDLQ: tail's own binding is an anonymous consumer
// that dead-letters nothing: a configuration whose Kafka default enables
// the DLQ (SCSt's enableDlq / enable-dlq, or stream.default.consumer.dlq)
// gives no warning about it ("consumer.dlq does not apply to a binding
// without a group", naming streambindTail-in-0, which the user never
// wrote), and tail prints the message. Nor do the service's other consumer
// defaults apply to tail (batch-mode, auto-startup: false).
func TestTailIgnoresDefaultDLQ(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	for i, dlq := range []string{
		"spring.cloud.stream.kafka.default.consumer.enableDlq=true",
		"spring.cloud.stream.kafka.default.consumer.enable-dlq=true",
		"spring.cloud.stream.default.consumer.dlq=true",
		// Other defaults of the service's consumers are not tail's either.
		"spring.cloud.stream.default.consumer.batch-mode=true",
		"spring.cloud.stream.default.consumer.auto-startup=false",
	} {
		topic := fmt.Sprintf("cli-taildef-%d-%d", time.Now().UnixNano(), i)
		dir := writeFiles(t, map[string]string{"application.properties": `spring.cloud.function.definition=work
spring.cloud.stream.default-binder=kafka
spring.cloud.stream.binders.kafka.type=kafka
spring.cloud.stream.binders.kafka.environment.brokers=${KAFKA_BROKERS}
spring.cloud.stream.bindings.work-in-0.destination=` + topic + `
spring.cloud.stream.bindings.work-in-0.group=workers
` + dlq + "\n"})
		tr := startTail(t, dir, env, "--destination", topic, "--count", "1", "--timeout", "30s")
		if r := runIn(t, dir, env, "send", "--destination", topic, `{"n":1}`); r.code != exitOK {
			t.Fatalf("%s: send: exit status %d, stderr %q", dlq, r.code, r.stderr)
		}
		code, got := tr.wait(t)
		if code != exitOK {
			t.Fatalf("%s: tail: exit status %d, stderr %q", dlq, code, tr.errText())
		}
		assertLines(t, payloads(got), []string{`{"n":1}`})
		if s := tr.errText(); strings.Contains(s, "dlq") || strings.Contains(s, tailFunction) || strings.Contains(s, "WARN") {
			t.Errorf("%s: tail warned of its own binding: %q", dlq, s)
		}
	}
}

// TestSendKeyUnpartitionedOtherBinders: on RabbitMQ, NATS and Redis too,
// send --key to a destination nothing partitions sends the message keyed
// (the binder's key: x-streambind-key on RabbitMQ and NATS, the entry's
// key field on Redis) to the destination itself, where a consumer of it
// reads it, without scst_partition. It was sent partitioned, to
// partition 0 of 1 with scst_partition 0, which the app never does there.
func TestSendKeyUnpartitionedOtherBinders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		binder string
		setup  func(t *testing.T) (binderYAML string, env []string, dest string)
	}{
		{"rabbit", func(t *testing.T) (string, []string, string) {
			return "      type: rabbit\n      environment:\n        addresses: ${RABBIT_ADDRESSES:127.0.0.1:5672}\n        virtual-host: ${VHOST}\n",
				[]string{"VHOST=" + rabbittest.VHost(t)}, "keyed"
		}},
		{"nats", func(t *testing.T) (string, []string, string) {
			natstest.Require(t)
			dest := "sendkey-" + uuid.NewString()[:8]
			natstest.DeleteStreams(t, natstest.URL(), func() []string { return []string{nats.StreamName(dest)} })
			return "      type: nats\n      environment:\n        servers: ${NATS_URL}\n", []string{"NATS_URL=" + natstest.URL()}, dest
		}},
		{"redis", func(t *testing.T) (string, []string, string) {
			redistest.Require(t)
			return "      type: redis\n      environment:\n        address: ${REDIS_ADDR}\n        key-prefix: ${PREFIX}\n",
				[]string{"REDIS_ADDR=" + redistest.Addr(), "PREFIX=" + redistest.Prefix(t)}, "keyed"
		}},
	} {
		t.Run(tc.binder, func(t *testing.T) {
			t.Parallel()
			binder, env, dest := tc.setup(t)
			dir := writeFiles(t, map[string]string{"application.yaml": "stream:\n  default-binder: " + tc.binder + "\n  binders:\n    " + tc.binder + ":\n" + binder})
			tr := startTail(t, dir, env, "--destination", dest, "--count", "1", "--timeout", "20s")
			if r := runIn(t, dir, env, "send", "--destination", dest, "--key", "order-2", `{"n":1}`); r.code != exitOK {
				t.Fatalf("send: exit status %d, stderr %q", r.code, r.stderr)
			}
			code, got := tr.wait(t)
			if code != exitOK {
				t.Fatalf("tail: exit status %d, stderr %q", code, tr.errText())
			}
			assertLines(t, payloads(got), []string{`{"n":1}`})
			if v, ok := got[0].Headers[stream.HeaderPartition]; ok {
				t.Errorf("header %s=%v written", stream.HeaderPartition, v)
			}
		})
	}
}
