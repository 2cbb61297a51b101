package kafka_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestBrokerAddressSchemes: a bootstrap address with a scheme
// (PLAINTEXT://host:9092, SSL://, SASL_SSL://, SASL_PLAINTEXT://, a
// listener name such as INTERNAL://), which Java's client accepts, is
// accepted: the binder dials host:port. The binder's tls and sasl
// settings decide how it connects, as the client's security.protocol
// does; a scheme asking for TLS or SASL that the binder is not configured
// for is an error at the key that gave the address, naming the setting to
// give, not a plain-text connection. Before, every scheme was refused.
func TestBrokerAddressSchemes(t *testing.T) {
	tlsOn := map[string]any{"enabled": true}
	saslOn := map[string]any{"mechanism": "PLAIN", "username": "u", "password": "S3cr3tPw"}
	for _, tc := range []struct {
		binder map[string]any
		want   []string
	}{
		{map[string]any{"brokers": "PLAINTEXT://h1:9092,plaintext://h2"}, []string{"h1:9092", "h2:9092"}},
		{map[string]any{"brokers": "INTERNAL://kafka:29092"}, []string{"kafka:29092"}},
		{map[string]any{"brokers": "SSL://h:9093", "tls": tlsOn}, []string{"h:9093"}},
		{map[string]any{"brokers": "SASL_PLAINTEXT://h:9094", "sasl": saslOn}, []string{"h:9094"}},
		{map[string]any{"brokers": []any{"SASL_SSL://h:9095", "SASL_SSL://[::1]:9096"}, "tls": tlsOn, "sasl": saslOn}, []string{"h:9095", "[::1]:9096"}},
		{map[string]any{"configuration": map[string]any{"bootstrap.servers": "SSL://h:9093", "security.protocol": "SSL"}}, []string{"h:9093"}},
	} {
		got, err := kafka.Brokers(stream.BinderSettings{Name: "kafka", Type: kafka.Type, Binder: tc.binder})
		if err != nil || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%v: brokers %v, %v; want %v", tc.binder, got, err, tc.want)
		}
	}

	for _, tc := range []struct {
		binder map[string]any
		want   []string
	}{
		{map[string]any{"brokers": "SSL://h:9093"},
			[]string{`stream.kafka.binder.brokers: broker address "SSL://h:9093" asks for SSL`, "set stream.kafka.binder.tls"}},
		{map[string]any{"brokers": "SASL_SSL://h:9093", "tls": tlsOn},
			[]string{`stream.kafka.binder.brokers: broker address "SASL_SSL://h:9093" asks for SASL_SSL`, "set stream.kafka.binder.sasl"}},
		{map[string]any{"brokers": "SASL_PLAINTEXT://h:9094"},
			[]string{"stream.kafka.binder.brokers:", "SASL: set stream.kafka.binder.sasl"}},
		{map[string]any{"configuration": map[string]any{"bootstrap.servers": "h1:9092,SSL://h2:9093"}},
			[]string{`stream.kafka.binder.configuration.bootstrap.servers: broker address "SSL://h2:9093" asks for SSL`}},
		{map[string]any{"brokers": "PLAINTEXT://u:S3cr3tPw@h:9092"}, []string{"stream.kafka.binder.brokers:", "no scheme or user info"}},
		{map[string]any{"brokers": "PLAINTEXT://h:9092/x"}, []string{"stream.kafka.binder.brokers:"}},
		{map[string]any{"configuration": map[string]any{"bootstrap.servers": "h:x"}}, []string{"stream.kafka.binder.configuration.bootstrap.servers:", `port "x"`}},
	} {
		_, err := kafka.Brokers(stream.BinderSettings{Name: "kafka", Type: kafka.Type, Binder: tc.binder})
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %v, want one saying %q", tc.binder, err, w)
			}
		}
		if err != nil && strings.Contains(err.Error(), "S3cr3tPw") {
			t.Errorf("the password is shown: %v", err)
		}
	}

	// A scheme asking for less than is configured: the configured
	// security is used (as by Java's client), with a warning.
	var rec logRecorder
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: rec.logger(),
		Binder: map[string]any{"brokers": "PLAINTEXT://h:9093", "tls": tlsOn}})
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Close(context.Background())
	var warned bool
	for _, l := range rec.since(slog.LevelWarn, time.Time{}) {
		warned = warned || strings.Contains(l.msg, `stream.kafka.binder.brokers: broker address "PLAINTEXT://h:9093" says PLAINTEXT, and the binder connects with TLS (SSL)`)
	}
	if !warned {
		t.Errorf("no warning of the PLAINTEXT:// address with TLS configured: %v", rec.since(slog.LevelDebug, time.Time{}))
	}
}

// TestConnectThroughSchemedAddress: a binder given PLAINTEXT://host:port
// (the form of a Kafka listener, as SCSt files often carry it) connects:
// a record sent through it is read back.
func TestConnectThroughSchemedAddress(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	var addrs []string
	for _, a := range c.Addrs() {
		addrs = append(addrs, "PLAINTEXT://"+a)
	}
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: testLogger(t),
		Binder: map[string]any{"brokers": strings.Join(addrs, ",")}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close(context.Background()) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "out", Destination: "schemed", ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close(context.Background()) }()
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("via PLAINTEXT://")}); err != nil {
		t.Fatal(err)
	}
	if got := readRaw(t, c, "schemed", 1); string(got[0].Value) != "via PLAINTEXT://" {
		t.Errorf("read %q", got[0].Value)
	}
}
