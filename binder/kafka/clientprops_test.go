package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// wantErrs checks that err names every path with its reason.
func wantErrs(t *testing.T, err error, want map[string]string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	text := err.Error()
	for path, reason := range want {
		found := false
		for _, line := range strings.Split(text, "\n") {
			if strings.Contains(line, path+":") && strings.Contains(line, reason) {
				found = true
			}
		}
		if !found {
			t.Errorf("no line names %s with %q:\n%v", path, reason, text)
		}
	}
}

// TestKafkaPropertiesRefused: every Kafka client property the binder
// cannot honour is an error naming its key path and why; exactly-once
// transactions are refused; secrets are not echoed.
func TestKafkaPropertiesRefused(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	_, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
		Binder: map[string]any{
			"transaction": map[string]any{"transaction-id-prefix": "tx-"},
			"configuration": map[string]any{
				"schema.registry.url": "http://x",
				"sasl.jaas.config":    `com.sun.security.auth.module.Krb5LoginModule required password="` + secret + `";`,
				"ssl.truststore.type": "JKS",
				"security.protocol":   "SASL_SSL",
			},
			"consumer-properties": map[string]any{"linger.ms": 5, "enable.auto.commit": true},
			"producer-properties": map[string]any{"enable.idempotence": "sometimes", "transactional.id": "t", "client.id": "c"},
		}})
	wantErrs(t, err, map[string]string{
		"stream.kafka.binder.transaction.transaction-id-prefix":      "exactly-once transactions are not supported",
		"stream.kafka.binder.configuration.schema.registry.url":      "not a Kafka client property that kafka-go can honour",
		"stream.kafka.binder.configuration.sasl.jaas.config":         "Krb5LoginModule is not supported",
		"stream.kafka.binder.configuration.ssl.truststore.type":      "JKS is not supported",
		"stream.kafka.binder.consumer-properties.linger.ms":          "a producer property in a consumer's map",
		"stream.kafka.binder.consumer-properties.enable.auto.commit": "the binder commits offsets itself",
		"stream.kafka.binder.producer-properties.enable.idempotence": "sometimes",
		"stream.kafka.binder.producer-properties.transactional.id":   "exactly-once transactions are not supported",
		"stream.kafka.binder.producer-properties.client.id":          "set it in stream.binders.k.environment.configuration",
	})
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the error shows the JAAS password:\n%v", err)
	}

	// The binder-wide transaction section is refused in any form.
	for _, v := range []any{map[string]any{}, "tx-", map[string]any{"producer": map[string]any{"configuration": map[string]any{"retries": 1}}}} {
		_, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Binder: map[string]any{"transaction": v}})
		if err == nil || !strings.Contains(err.Error(), "exactly-once transactions are not supported") {
			t.Errorf("transaction %v: want the refusal, got %v", v, err)
		}
	}

	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type})
	if err != nil {
		t.Fatal(err)
	}
	v := b.(stream.SpecValidator)
	err = v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{
		"configuration": map[string]any{
			"group.id":           "g",
			"value.deserializer": "io.confluent.kafka.serializers.KafkaAvroDeserializer",
			"auto.offset.reset":  "none",
			"bootstrap.servers":  "elsewhere:9092",
		},
		"dlq-producer-properties": map[string]any{"configuration": map[string]any{"fetch.min.bytes": 1}},
		"topic": map[string]any{"properties": map[string]any{"retention.ms": []any{1}, "cleanup.policy": nil},
			"replicas-assignments": map[string]any{"0": []any{1, 2}}},
	}})
	wantErrs(t, err, map[string]string{
		"stream.kafka.bindings.in-0.consumer.configuration.group.id":                                "set stream.bindings.<binding>.group",
		"stream.kafka.bindings.in-0.consumer.configuration.value.deserializer":                      "KafkaAvroDeserializer\" is not supported",
		"stream.kafka.bindings.in-0.consumer.configuration.auto.offset.reset":                       "none is not supported",
		"stream.kafka.bindings.in-0.consumer.configuration.bootstrap.servers":                       "declare another binder",
		"stream.kafka.bindings.in-0.consumer.dlq-producer-properties.configuration.fetch.min.bytes": "a consumer property in a producer's map",
		"stream.kafka.bindings.in-0.consumer.topic.properties.retention.ms":                         "want a string",
		"stream.kafka.bindings.in-0.consumer.topic.properties.cleanup.policy":                       "want a value",
		"stream.kafka.bindings.in-0.consumer.topic.replicas-assignments":                            "create the topic beforehand",
	})
	err = v.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Extension: map[string]any{
		"configuration": map[string]any{"compression.type": "brotli", "key.serializer": "com.example.MySerializer",
			"partitioner.class": "com.example.P"},
	}})
	wantErrs(t, err, map[string]string{
		"stream.kafka.bindings.out-0.producer.configuration.compression.type":  "want none, gzip, snappy, lz4 or zstd",
		"stream.kafka.bindings.out-0.producer.configuration.key.serializer":    "MySerializer\" is not supported",
		"stream.kafka.bindings.out-0.producer.configuration.partitioner.class": "the partition is chosen by the binding",
	})
	// fetch.min.bytes above the largest fetch would make kafka-go refuse
	// the reader: it is a configuration error instead.
	err = v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{
		"configuration": map[string]any{"fetch.min.bytes": 2048, "fetch.max.bytes": 1024}}})
	wantErrs(t, err, map[string]string{"stream.kafka.bindings.in-0.consumer": "fetch.min.bytes (2048) is above the largest fetch (1024"})
}

// TestKafkaPropertiesAccepted: what kafka-go can honour is accepted, in
// flat and nested spelling.
func TestKafkaPropertiesAccepted(t *testing.T) {
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
		Binder: map[string]any{
			"default-broker-port": 19092,
			"configuration": map[string]any{
				"client.id": "app", "request.timeout.ms": 5000, "acks": "all", "isolation.level": "read_committed",
				"key.serializer": "org.apache.kafka.common.serialization.ByteArraySerializer",
				"value":          map[string]any{"deserializer": "org.apache.kafka.common.serialization.StringDeserializer"},
			},
			"consumer-properties": map[string]any{"fetch.max.wait.ms": 100, "fetch.min.bytes": 1, "max.partition.fetch.bytes": 1 << 20,
				"fetch.max.bytes": 50 << 20, "max.poll.records": 100, "session.timeout.ms": 30000, "heartbeat.interval.ms": 3000,
				"max.poll.interval.ms": 300000, "auto.offset.reset": "earliest", "enable.auto.commit": false},
			"producer-properties": map[string]any{"linger.ms": 5, "batch.size": 16384, "max.request.size": 1048576,
				"compression.type": "zstd", "retries": 2147483647, "enable.idempotence": false, "max.in.flight.requests.per.connection": 5},
		}})
	if err != nil {
		t.Fatal(err)
	}
	v := b.(stream.SpecValidator)
	if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{
		"dlq-partitions": 3, "dlq-producer-properties": map[string]any{"compression-type": "gzip", "configuration": map[string]any{"acks": 1}},
		"configuration": map[string]any{"auto.offset.reset": "latest"}, "topic": map[string]any{"replication-factor": 1}}}); err != nil {
		t.Errorf("consumer: %v", err)
	}
	if err := v.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Extension: map[string]any{
		"buffer-size": 16384, "configuration": map[string]any{"linger.ms": 0, "acks": "1"}}}); err != nil {
		t.Errorf("producer: %v", err)
	}
}

// produceObserver records, per topic, the acks and compression codec of
// the produce requests kfake receives.
type produceObserver struct {
	mu    sync.Mutex
	acks  map[string]int16
	codec map[string]int8
}

func observeProduce(c *kafkatest.Cluster) *produceObserver {
	o := &produceObserver{acks: map[string]int16{}, codec: map[string]int8{}}
	c.Kfake.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		req := kr.(*kmsg.ProduceRequest)
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, rt := range req.Topics {
			for _, rp := range rt.Partitions {
				var rb kmsg.RecordBatch
				if rb.ReadFrom(rp.Records) == nil {
					o.acks[rt.Topic] = req.Acks
					o.codec[rt.Topic] = int8(rb.Attributes & 0x07)
				}
			}
		}
		return nil, nil, false
	})
	return o
}

func (o *produceObserver) get(topic string) (acks int16, codec int8, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	acks, ok = o.acks[topic]
	return acks, o.codec[topic], ok
}

// TestProducerPropertiesOnTheWire: acks and compression.type reach the
// broker, with SCSt's precedence: a binding's configuration over the
// binder's producer-properties over its configuration over typed keys.
func TestProducerPropertiesOnTheWire(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	obs := observeProduce(c)
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
		Environment: map[string]any{"brokers": c.Brokers()},
		Binder: map[string]any{
			"configuration":       map[string]any{"acks": "1", "compression.type": "snappy"},
			"producer-properties": map[string]any{"compression.type": "lz4"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	send := func(ext map[string]any) string {
		dest := uniqueTopic(t)
		p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: dest, Extension: ext})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close(context.Background()) })
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(strings.Repeat("compressible ", 100))}); err != nil {
			t.Fatal(err)
		}
		return dest
	}
	const gzip, lz4 = 1, 3
	for _, tc := range []struct {
		name      string
		ext       map[string]any
		acks      int16
		codec     int8
		codecName string
	}{
		{"binder maps", nil, 1, lz4, "lz4"},
		// The typed key loses to the binder's producer-properties (SCSt).
		{"typed key", map[string]any{"compression": "gzip"}, 1, lz4, "lz4"},
		{"binding configuration", map[string]any{"configuration": map[string]any{"compression.type": "gzip", "acks": "all"}}, -1, gzip, "gzip"},
	} {
		dest := send(tc.ext)
		acks, codec, ok := obs.get(dest)
		if !ok {
			t.Fatalf("%s: no produce request seen for %s", tc.name, dest)
		}
		if acks != tc.acks || codec != tc.codec {
			t.Errorf("%s: acks %d, codec %d; want acks %d, %s (%d)", tc.name, acks, codec, tc.acks, tc.codecName, tc.codec)
		}
	}
}

// TestClientIDAndDefaultPort: client.id in the binder's configuration is
// the client id the broker sees; a broker given without a port gets
// default-broker-port.
func TestClientIDAndDefaultPort(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	host, port, err := net.SplitHostPort(c.Brokers())
	if err != nil {
		t.Fatal(err)
	}
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
		Binder: map[string]any{"brokers": host, "default-broker-port": port,
			"configuration": map[string]any{"client.id": "billing-service"}}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	dest, group := uniqueTopic(t), "g-"+uniqueTopic(t)
	tr := newTracker()
	startConsumer(t, b, consumerSpec(dest, group, tr.handler()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	gi, err := c.Kfake.WaitGroupStable(ctx, group, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range gi.Members {
		if m.ClientID != "billing-service" {
			t.Errorf("member %s has client id %q, want billing-service", m.MemberID, m.ClientID)
		}
	}
}

// TestSASLFromJAAS: SASL PLAIN and SCRAM configured as SCSt users do, with
// security.protocol, sasl.mechanism and a sasl.jaas.config line; wrong
// credentials fail the bind without showing the password.
func TestSASLFromJAAS(t *testing.T) {
	t.Parallel()
	const user, pass = "svc", "pa\"ss-9"
	jaas := func(module, p string) string {
		return module + ` required username="` + user + `" password="` + strings.ReplaceAll(p, `"`, `\"`) + `";`
	}
	for _, tc := range []struct{ mech, module string }{
		{"PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule"},
		{"SCRAM-SHA-256", "org.apache.kafka.common.security.scram.ScramLoginModule"},
		{"SCRAM-SHA-512", "org.apache.kafka.common.security.scram.ScramLoginModule"},
	} {
		t.Run(tc.mech, func(t *testing.T) {
			c := kafkatest.Start(t, kfake.EnableSASL(), kfake.Superuser(tc.mech, user, pass))
			cfg := func(p string) map[string]any {
				return map[string]any{"brokers": c.Brokers(), "configuration": map[string]any{
					"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": tc.mech, "sasl.jaas.config": jaas(tc.module, p)}}
			}
			b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t), Binder: cfg(pass)})
			if err != nil {
				t.Fatal(err)
			}
			closeBinder(t, b)
			roundTrip(t, b)

			// SCSt's older binder jaas section, the same credentials.
			jb, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
				Binder: map[string]any{"brokers": c.Brokers(),
					"jaas":          map[string]any{"login-module": tc.module, "options": map[string]any{"username": user, "password": pass}},
					"configuration": map[string]any{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": tc.mech}}})
			if err != nil {
				t.Fatal(err)
			}
			closeBinder(t, jb)
			roundTrip(t, jb)

			const wrong = "not-the-Password-42"
			bad, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t), Binder: cfg(wrong)})
			if err != nil {
				t.Fatal(err)
			}
			closeBinder(t, bad)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = bad.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: uniqueTopic(t)})
			if err == nil {
				t.Fatal("wrong credentials: want an error")
			}
			if strings.Contains(err.Error(), wrong) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
	// A SASL protocol without a JAAS line, and SASL settings without a
	// SASL protocol, are errors rather than a connection without SASL.
	_, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Binder: map[string]any{
		"configuration": map[string]any{"security.protocol": "SASL_SSL"}}})
	wantErrs(t, err, map[string]string{"stream.kafka.binder.configuration.security.protocol": "needs sasl.jaas.config"})
	_, err = kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Binder: map[string]any{
		"configuration": map[string]any{"sasl.jaas.config": jaas("org.apache.kafka.common.security.plain.PlainLoginModule", "x")}}})
	wantErrs(t, err, map[string]string{"stream.kafka.binder.configuration.sasl.jaas.config": "security.protocol is PLAINTEXT (the default: it is not set)"})
	_, err = kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Binder: map[string]any{
		"configuration": map[string]any{"security.protocol": "PLAINTEXT", "sasl.jaas.config": jaas("org.apache.kafka.common.security.plain.PlainLoginModule", "x")}}})
	if err == nil || strings.Contains(err.Error(), "(the default") {
		t.Errorf("a security.protocol set to PLAINTEXT is not the default: %v", err)
	}
}

// TestAutoOffsetReset: auto.offset.reset decides where a new group
// starts; the typed start-offset wins over it, as in SCSt.
func TestAutoOffsetReset(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	for _, tc := range []struct {
		name       string
		ext        map[string]any
		wantBefore bool
	}{
		{"earliest", map[string]any{"configuration": map[string]any{"auto.offset.reset": "earliest"}}, true},
		{"latest", map[string]any{"configuration": map[string]any{"auto.offset.reset": "latest"}}, false},
		{"start-offset wins", map[string]any{"start-offset": "latest", "configuration": map[string]any{"auto.offset.reset": "earliest"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := uniqueTopic(t)
			p := bindProducer(t, b, dest, 1)
			ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
			defer cancel()
			for i := range 3 {
				if err := p.Send(ctx, stream.Envelope{Payload: []byte("{}"), Headers: stream.Headers{idHeader: fmt.Sprint("before-", i)}}); err != nil {
					t.Fatal(err)
				}
			}
			tr := newTracker()
			spec := consumerSpec(dest, "g", tr.handler())
			spec.Extension = tc.ext
			startConsumer(t, b, spec)
			// Send "after" messages until one arrives: the consumer is
			// then surely past its start offset.
			for i := 0; ; i++ {
				if err := p.Send(ctx, stream.Envelope{Payload: []byte("{}"), Headers: stream.Headers{idHeader: fmt.Sprint("after-", i)}}); err != nil {
					t.Fatal(err)
				}
				got := false
				tr.mu.Lock()
				for id := range tr.got {
					got = got || strings.HasPrefix(id, "after-")
				}
				tr.mu.Unlock()
				if got {
					break
				}
				select {
				case <-tr.changed:
				case <-time.After(100 * time.Millisecond):
				case <-ctx.Done():
					t.Fatal("no message after the start arrived")
				}
			}
			if tc.wantBefore {
				tr.waitFor(t, "the 3 earlier messages", faultTimeout, func() bool {
					return tr.got["before-0"] > 0 && tr.got["before-1"] > 0 && tr.got["before-2"] > 0
				})
				return
			}
			tr.mu.Lock()
			defer tr.mu.Unlock()
			for id := range tr.got {
				if strings.HasPrefix(id, "before-") {
					t.Errorf("got %s, written before a latest start", id)
				}
			}
		})
	}
}

// TestDLQPartitions: dlq-partitions sets the partition count of the
// dead-letter topic the binding creates (else the source topic's).
func TestDLQPartitions(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct {
		ext  map[string]any
		want int
	}{{nil, 1}, {map[string]any{"dlq-partitions": 3}, 3}} {
		dest := uniqueTopic(t)
		spec := consumerSpec(dest, "g", func(context.Context, stream.Envelope) error { return nil })
		spec.Consumer.DLQ = true
		spec.Extension = tc.ext
		cons, err := b.BindConsumer(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cons.Stop(context.Background()) })
		dlq := stream.DLQName(dest, "g")
		if n := len(c.Kfake.PartitionInfos(dlq)); n != tc.want {
			t.Errorf("%v: the dead-letter topic has %d partitions, want %d", tc.ext, n, tc.want)
		}
		if n := len(c.Kfake.PartitionInfos(dest)); n != 1 {
			t.Errorf("%v: the source topic has %d partitions, want 1", tc.ext, n)
		}
	}

	// min-partition-count still applies to a dead-letter topic (SCSt).
	b2 := newBinder(t, c, map[string]any{"min-partition-count": 2})
	closeBinder(t, b2)
	dest := uniqueTopic(t)
	spec := consumerSpec(dest, "g", func(context.Context, stream.Envelope) error { return nil })
	spec.Consumer.DLQ = true
	spec.Extension = map[string]any{"dlq-partitions": 1}
	cons, err := b2.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cons.Stop(context.Background()) })
	if n := len(c.Kfake.PartitionInfos(stream.DLQName(dest, "g"))); n != 2 {
		t.Errorf("dlq-partitions 1, min-partition-count 2: the dead-letter topic has %d partitions, want 2", n)
	}
}

// TestTopicReplicationFactor: a binding's topic.replication-factor is the
// one its topics are created with (one broker: 2 is refused by the
// broker, and the bind fails naming it), over the binder's.
func TestTopicReplicationFactor(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, map[string]any{"replication-factor": 2})
	closeBinder(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: uniqueTopic(t)})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "replication") {
		t.Fatalf("binder replication-factor 2 on one broker: want a replication factor error, got %v", err)
	}
	dest := uniqueTopic(t)
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: dest,
		Extension: map[string]any{"topic": map[string]any{"replication-factor": 1}}})
	if err != nil {
		t.Fatalf("topic.replication-factor 1: %v", err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	if ti := c.Kfake.TopicInfo(dest); ti == nil || ti.NumReplicas != 1 {
		t.Errorf("topic info %+v: want 1 replica", ti)
	}
	spec := consumerSpec(uniqueTopic(t), "g", func(context.Context, stream.Envelope) error { return nil })
	spec.Extension = map[string]any{"topic": map[string]any{"replication-factor": 1}}
	cons, err := b.BindConsumer(ctx, spec)
	if err != nil {
		t.Fatalf("consumer topic.replication-factor 1: %v", err)
	}
	t.Cleanup(func() { _ = cons.Stop(context.Background()) })
}

// TestSCStEnvironment: a binder declared as in SCSt's multi-binder
// configuration, with Spring properties in its environment (dotted and
// nested; spring.cloud.stream.kafka.binder.* and spring.kafka.*), works;
// other spring.* keys there are errors naming them.
func TestSCStEnvironment(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka1", Type: kafka.Type, Logger: testLogger(t),
		Environment: map[string]any{
			"spring.cloud.stream.kafka.binder.brokers": c.Brokers(),
			"spring": map[string]any{
				"cloud": map[string]any{"stream": map[string]any{"kafka": map[string]any{"binder": map[string]any{
					"configuration": map[string]any{"client.id": "from-scst-env"}}}}},
				"kafka": map[string]any{"consumer": map[string]any{"properties": map[string]any{"max.poll.records": 10}}},
			},
		}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	dest, group := uniqueTopic(t), "g-"+uniqueTopic(t)
	tr := newTracker()
	startConsumer(t, b, consumerSpec(dest, group, tr.handler()))
	p := bindProducer(t, b, dest, 1)
	produce(context.Background(), t, p, tr, "m", 5, 1, 0)
	tr.waitAll(t, faultTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	gi, err := c.Kfake.WaitGroupStable(ctx, group, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(gi.Members) == 0 || gi.Members[0].ClientID != "from-scst-env" {
		t.Errorf("group members %+v: want client id from-scst-env", gi.Members)
	}

	_, err = kafka.New(context.Background(), stream.BinderSettings{Name: "kafka1", Type: kafka.Type,
		Environment: map[string]any{
			"spring.rabbitmq.host":           "x",
			"spring.kafka.bootstrap-servers": "h:1",
			"spring":                         map[string]any{"kafka": map[string]any{"ssl": map[string]any{"trust-store-location": "x.jks"}}},
		}})
	wantErrs(t, err, map[string]string{
		"stream.binders.kafka1.environment.spring.rabbitmq.host":                  "not read by the Kafka binder",
		"stream.binders.kafka1.environment.spring.kafka.ssl.trust-store-location": "not read by the Kafka binder: give it as a Kafka client property",
	})
}

// TestConsumerPropertiesApply: max.poll.records bounds the batches of a
// batch-mode consumer; dlq-producer-properties reach the dead-letter
// writer (its compression and acks are seen on the wire).
func TestConsumerPropertiesApply(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	obs := observeProduce(c)
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
		Binder: map[string]any{"brokers": c.Brokers(), "consumer-properties": map[string]any{"max.poll.records": 7}}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)

	t.Run("max.poll.records", func(t *testing.T) {
		dest := uniqueTopic(t)
		tr := newTracker()
		p := bindProducer(t, b, dest, 1)
		produce(context.Background(), t, p, tr, "m", 100, 1, 0)
		var mu sync.Mutex
		biggest := 0
		spec := consumerSpec(dest, "g", nil)
		spec.Consumer.BatchMode = true
		spec.BatchHandler = func(_ context.Context, ms []stream.Envelope) error {
			mu.Lock()
			biggest = max(biggest, len(ms))
			mu.Unlock()
			for _, m := range ms {
				tr.receive(m.Headers[idHeader])
			}
			return nil
		}
		startConsumer(t, b, spec)
		tr.waitAll(t, faultTimeout)
		mu.Lock()
		defer mu.Unlock()
		if biggest > 7 || biggest < 2 {
			t.Errorf("largest batch %d; want 2 to 7 (max.poll.records 7, 100 messages waiting)", biggest)
		}
	})
	t.Run("dlq-producer-properties", func(t *testing.T) {
		dest := uniqueTopic(t)
		spec := consumerSpec(dest, "g", func(context.Context, stream.Envelope) error { return stream.Permanent(errors.New("bad")) })
		spec.Consumer.DLQ = true
		spec.Extension = map[string]any{"dlq-producer-properties": map[string]any{
			"compression-type": "gzip", "configuration": map[string]any{"acks": "1"}}}
		startConsumer(t, b, spec)
		p := bindProducer(t, b, dest, 1)
		ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
		defer cancel()
		if err := p.Send(ctx, stream.Envelope{Payload: []byte(`{"poison":true}`)}); err != nil {
			t.Fatal(err)
		}
		dlq := stream.DLQName(dest, "g")
		for {
			if acks, codec, ok := obs.get(dlq); ok {
				if acks != 1 || codec != 1 {
					t.Errorf("dead letter written with acks %d, codec %d; want acks 1, gzip (1)", acks, codec)
				}
				return
			}
			select {
			case <-ctx.Done():
				t.Fatal("no dead letter was written")
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

// TestMessageKeyExpression: message-key-expression (SCSt's
// messageKeyExpression) sets the record key from the payload or headers;
// a message it cannot key is refused for good (stream.Permanent); an
// expression outside the SpEL subset is a configuration error.
func TestMessageKeyExpression(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
	defer cancel()
	dest := uniqueTopic(t)
	keys := make(chan string, 8)
	startConsumer(t, b, consumerSpec(dest, "g", func(_ context.Context, m stream.Envelope) error {
		keys <- string(m.Key)
		return nil
	}))
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: dest,
		Extension: map[string]any{"message-key-expression": "payload.customer?.id ?: headers['fallback']"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	for _, m := range []stream.Envelope{
		{Payload: []byte(`{"customer":{"id":"c-42"}}`), Key: []byte("ignored")},
		{Payload: []byte(`{"customer":{"id":7}}`)},
		{Payload: []byte(`{}`), Headers: stream.Headers{"fallback": "from-header"}},
		// A decimal is a Double (Jackson's), written as Java writes one;
		// integers keep every digit (were 1.234567e+06 and a rounded
		// 9.007199254740992e+15, read as float64s).
		{Payload: []byte(`{"customer":{"id":2.0}}`)},
		{Payload: []byte(`{"customer":{"id":1234567}}`)},
		{Payload: []byte(`{"customer":{"id":9007199254740993}}`)},
	} {
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	for range 6 {
		select {
		case k := <-keys:
			got[k] = true
		case <-ctx.Done():
			t.Fatalf("keys received: %v", got)
		}
	}
	for _, want := range []string{"c-42", "7", "from-header", "2.0", "1234567", "9007199254740993"} {
		if !got[want] {
			t.Errorf("no record with key %q (got %v)", want, got)
		}
	}
	err = p.Send(ctx, stream.Envelope{Payload: []byte(`{"customer":{"id":{"nested":1}}}`)})
	if err == nil || !stream.IsPermanent(err) || !strings.Contains(err.Error(), "message-key-expression") {
		t.Errorf("an object as key: want a permanent error naming message-key-expression, got %v", err)
	}

	v := b.(stream.SpecValidator)
	err = v.ValidateProducer(stream.ProducerSpec{Binding: "x-out-0", Extension: map[string]any{"message-key-expression": "T(java.util.UUID).randomUUID()"}})
	wantErrs(t, err, map[string]string{"stream.kafka.bindings.x-out-0.producer.message-key-expression": "T(java.util.UUID)"})
}

// TestSCStTypedKeys: SCSt's typed Kafka keys without a setting of their
// own are accepted where the binder does what they ask anyway, and
// refused with the reason otherwise; the binder's older jaas section works
// like sasl.jaas.config; healthTimeout counts seconds, as in SCSt.
func TestSCStTypedKeys(t *testing.T) {
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Binder: map[string]any{
		"headers": "x-a,x-b", "considerDownWhenAnyPartitionHasNoLeader": false, "healthTimeout": 60,
		"jaas": map[string]any{"loginModule": "org.apache.kafka.common.security.plain.PlainLoginModule", "controlFlag": "required",
			"options": map[string]any{"username": "u", "password": "p-secret-1"}},
		"configuration": map[string]any{"security.protocol": "SASL_PLAINTEXT"},
	}})
	if err != nil {
		t.Fatalf("accepted SCSt binder keys: %v", err)
	}
	v := b.(stream.SpecValidator)
	if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{
		"ackEachRecord": true, "autoCommitOffset": true, "ackMode": "RECORD", "autoRebalanceEnabled": true,
		"standardHeaders": "none", "destinationIsPattern": false, "autoCommitOnError": true,
		"admin": map[string]any{"replication-factor": 1}}}); err != nil {
		t.Errorf("accepted SCSt consumer keys: %v", err)
	}
	// Tuning of pollable sources and idle events (no counterpart, nothing
	// changed for a message-driven consumer) at any value; the producer's
	// close-timeout at SCSt's default only.
	if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{"poll-timeout": 10000, "idleEventInterval": "PT60S"}}); err != nil {
		t.Errorf("poll-timeout, idle-event-interval: %v", err)
	}
	if err := v.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Extension: map[string]any{"closeTimeout": 30}}); err != nil {
		t.Errorf("close-timeout 30: %v", err)
	}
	if err := v.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Extension: map[string]any{"close-timeout": 60}}); err == nil || !strings.Contains(err.Error(), "stream.shutdown-timeout") {
		t.Errorf("close-timeout 60: %v", err)
	}
	// ack-mode as Spring binds the enum: case, '-' and '_' do not matter.
	for _, mode := range []string{"count-time", "COUNT_TIME", "countTime", "batch"} {
		if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{"ack-mode": mode}}); err != nil {
			t.Errorf("ack-mode %s: %v", mode, err)
		}
	}
	if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{"ack-mode": "manual-immediate"}}); err == nil || !strings.Contains(err.Error(), "manual-immediate is not supported") {
		t.Errorf("ack-mode manual-immediate: %v", err)
	}
	if err := v.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Extension: map[string]any{
		"sync": true, "headerPatterns": "*", "useTopicHeader": false}}); err != nil {
		t.Errorf("accepted SCSt producer keys: %v", err)
	}

	_, err = kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type, Binder: map[string]any{
		"headerMapperBeanName": "m", "healthTimeout": "50ms",
		"jaas": map[string]any{"options": map[string]any{"username": "u", "password": "p-secret-2"}},
	}})
	wantErrs(t, err, map[string]string{
		"stream.kafka.binder.headerMapperBeanName": "it names a Spring bean",
		"stream.kafka.binder.healthTimeout":        "must be at least 100ms",
		"stream.kafka.binder.jaas":                 "needs login-module: SCSt's default is Kerberos",
	})
	if strings.Contains(err.Error(), "p-secret-2") {
		t.Errorf("the error shows the password: %v", err)
	}
	err = v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Extension: map[string]any{
		"autoCommitOffset": false, "ackMode": "MANUAL", "destinationIsPattern": true,
		"converterBeanName": "c", "standardHeaders": "both"}})
	wantErrs(t, err, map[string]string{
		"stream.kafka.bindings.in-0.consumer.autoCommitOffset":     "manual acknowledgment is not supported",
		"stream.kafka.bindings.in-0.consumer.ackMode":              "MANUAL is not supported",
		"stream.kafka.bindings.in-0.consumer.destinationIsPattern": "topic patterns are not supported",
		"stream.kafka.bindings.in-0.consumer.converterBeanName":    "it names a Spring bean",
		"stream.kafka.bindings.in-0.consumer.standardHeaders":      "is not supported",
	})
	err = v.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Extension: map[string]any{
		"sync": true, "sendTimeoutExpression": "1000", "transactionManager": "tm"}})
	wantErrs(t, err, map[string]string{
		"stream.kafka.bindings.out-0.producer.sendTimeoutExpression": "not supported with sync: true: SCSt waits that long at most for the broker's acknowledgement of a send; here every send waits for it, bounded by write-timeout × send-attempts (request.timeout.ms, retries + 1): set those for the binding, or give Bridge().Send a context with a deadline",
		"stream.kafka.bindings.out-0.producer.transactionManager":    "exactly-once transactions are not",
	})
}

// TestConsumerPropertiesOnTheWire: the consumer's Kafka properties reach
// the broker — the group's session and rebalance timeouts in its
// JoinGroup, the fetch limits and isolation level in its fetches — with a
// binding's configuration over the binder's consumer-properties.
func TestConsumerPropertiesOnTheWire(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	dest, group := uniqueTopic(t), "g-"+uniqueTopic(t)
	var mu sync.Mutex
	var join *kmsg.JoinGroupRequest
	var fetch *kmsg.FetchRequest
	var fetchMaxBytes, maxWait int32 // the largest seen
	c.Kfake.ControlKey(int16(kmsg.JoinGroup), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		if req := kr.(*kmsg.JoinGroupRequest); req.Group == group {
			mu.Lock()
			join = req
			mu.Unlock()
		}
		return nil, nil, false
	})
	c.Kfake.ControlKey(int16(kmsg.Fetch), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		req := kr.(*kmsg.FetchRequest)
		for _, rt := range req.Topics {
			if rt.Topic == dest && len(rt.Partitions) > 0 {
				mu.Lock()
				fetch = req
				fetchMaxBytes = max(fetchMaxBytes, rt.Partitions[0].PartitionMaxBytes)
				maxWait = max(maxWait, req.MaxWaitMillis)
				mu.Unlock()
			}
		}
		return nil, nil, false
	})
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
		Binder: map[string]any{"brokers": c.Brokers(), "consumer-properties": map[string]any{
			"session.timeout.ms": 12000, "max.poll.interval.ms": 15000, "fetch.min.bytes": 3, "fetch.max.wait.ms": 300,
			"max.partition.fetch.bytes": 65536, "isolation.level": "read_committed"}}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	tr := newTracker()
	spec := consumerSpec(dest, group, tr.handler())
	spec.Extension = map[string]any{"configuration": map[string]any{"fetch.max.wait.ms": 120}}
	startConsumer(t, b, spec)
	p := bindProducer(t, b, dest, 1)
	produce(context.Background(), t, p, tr, "m", 3, 1, 0)
	tr.waitAll(t, faultTimeout)

	mu.Lock()
	defer mu.Unlock()
	if join == nil || fetch == nil {
		t.Fatalf("seen: join %v, fetch %v", join != nil, fetch != nil)
	}
	if join.SessionTimeoutMillis != 12000 || join.RebalanceTimeoutMillis != 15000 {
		t.Errorf("JoinGroup: session timeout %d, rebalance timeout %d; want 12000, 15000", join.SessionTimeoutMillis, join.RebalanceTimeoutMillis)
	}
	// kafka-go sends the time left of the max wait (at most the setting)
	// and adds a little to the partition's max bytes.
	if fetch.MinBytes != 3 || maxWait <= 0 || maxWait > 120 || fetch.IsolationLevel != 1 || fetchMaxBytes < 65536 || fetchMaxBytes > 65536+1024 {
		t.Errorf("Fetch: min bytes %d, max wait up to %dms, isolation level %d, partition max bytes up to %d; want 3, at most 120, 1, about 65536",
			fetch.MinBytes, maxWait, fetch.IsolationLevel, fetchMaxBytes)
	}
}

// An empty security property — what a file that sets it per environment
// (sasl.jaas.config: ${KAFKA_JAAS:}) holds where the variable is unset —
// is a property not set, as the Kafka client treats SASL settings it does
// not use: a plain-text broker in development works with the file made
// for production. ssl.endpoint.identification.algorithm is the exception:
// its empty value turns host name checking off, and stays meaningful.
func TestEmptySecurityPropertiesAreUnset(t *testing.T) {
	empty := map[string]any{"security.protocol": "PLAINTEXT", "sasl.mechanism": "", "sasl.jaas.config": " ",
		"ssl.truststore.location": "", "ssl.keystore.location": "", "ssl.truststore.type": "", "ssl.keystore.type": "", "ssl.protocol": ""}
	if _, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
		Binder: map[string]any{"brokers": "127.0.0.1:19092", "configuration": empty}}); err != nil {
		t.Errorf("empty security properties under PLAINTEXT: %v", err)
	}
	// Likewise the binder's own sasl section left empty ("sasl:" with its
	// keys commented out), as tls is; it was "sasl.username: required with
	// sasl".
	for _, sec := range []string{"sasl", "tls"} {
		if _, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
			Binder: map[string]any{"brokers": "127.0.0.1:19092", sec: nil}}); err != nil {
			t.Errorf("an empty %s section: %v", sec, err)
		}
	}
	// Still refused: a SASL setting that is given, under PLAINTEXT.
	_, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
		Binder: map[string]any{"brokers": "127.0.0.1:19092", "configuration": map[string]any{"sasl.mechanism": "PLAIN"}}})
	if err == nil || !strings.Contains(err.Error(), "SASL is used only with") {
		t.Errorf("sasl.mechanism PLAIN under PLAINTEXT: %v, want refused", err)
	}
	// SASL_PLAINTEXT with an empty sasl.jaas.config still needs one.
	_, err = kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
		Binder: map[string]any{"brokers": "127.0.0.1:19092", "configuration": map[string]any{
			"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.jaas.config": ""}}})
	if err == nil || !strings.Contains(err.Error(), "needs sasl.jaas.config") {
		t.Errorf("SASL_PLAINTEXT with an empty sasl.jaas.config: %v, want 'needs sasl.jaas.config'", err)
	}
}
