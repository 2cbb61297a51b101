package main

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/stream"
)

// A replay to a destination other groups read says so once, naming the
// destination and, per binder, what confines the copies to the binding's
// group: --to-queue on RabbitMQ (a new-user trial: replaying payment's
// dead letters gave inventory, bound to the same exchange, the order
// again); nothing on Kafka, which the note says. On NATS and Redis a
// replay to the binding's own destination is for its group only
// (x-streambind-replay-group), which the note says instead; --to
// another destination is for every group of it. A replay --to-queue has
// nothing to note.
func TestReplayAudienceNotice(t *testing.T) {
	spec := stream.ConsumerSpec{Binding: "chargePayment-in-0", Destination: "orders", Group: "payment"}
	part := spec
	part.Consumer.Partitioned = true
	anon := spec
	anon.Group = ""
	for _, c := range []struct {
		name    string
		typ     string
		spec    stream.ConsumerSpec
		prefix  string
		dest    string
		literal bool
		queue   string
		want    []string
	}{
		{name: "rabbit", typ: rabbit.Type, spec: spec, dest: "orders",
			want: []string{"replaying to exchange orders:", "not only group payment", "--to-queue sends them to group payment's queue orders.payment only"}},
		{name: "rabbit --to, producer prefix", typ: rabbit.Type, spec: spec, prefix: "dev.", dest: "orders.retry",
			want: []string{"replaying to exchange dev.orders.retry:", "--to-queue sends them"}},
		{name: "rabbit --to-exchange", typ: rabbit.Type, spec: spec, prefix: "dev.", dest: "orders.x", literal: true,
			want: []string{"replaying to exchange orders.x:"}},
		{name: "rabbit partitioned", typ: rabbit.Type, spec: part, dest: "orders",
			want: []string{"--header scst_partition=N --to-queue=orders.payment-N"}},
		{name: "rabbit anonymous", typ: rabbit.Type, spec: anon, dest: "orders",
			want: []string{"not only its binding's own", "--to-queue=NAME"}},
		{name: "rabbit --to-queue", typ: rabbit.Type, spec: spec, dest: "queue orders.payment", queue: "orders.payment"},
		{name: "kafka", typ: kafka.Type, spec: spec, dest: "orders",
			want: []string{"replaying to topic orders:", "every consumer group of it receives the copies again, not only group payment", "Kafka has no option to confine a replay to one group"}},
		{name: "nats", typ: nats.Type, spec: spec, dest: "orders",
			want: []string{"replaying to destination orders for group payment only:", stream.HeaderReplayGroup + ": payment", "the consumers of its other groups acknowledge them without handling them"}},
		{name: "redis", typ: redis.Type, spec: spec, dest: "orders",
			want: []string{"replaying to destination orders for group payment only:", stream.HeaderReplayGroup + ": payment"}},
		{name: "nats --to", typ: nats.Type, spec: spec, dest: "orders.retry",
			want: []string{"replaying to destination orders.retry: every consumer group of it receives the copies again, not only group payment", "own destination is for its group only"}},
		{name: "redis anonymous", typ: redis.Type, spec: anon, dest: "orders",
			want: []string{"replaying to destination orders: every consumer group of it receives the copies again, not only its binding's own"}},
	} {
		tg := &dlqTarget{src: c.spec.Binding, typ: c.typ, spec: c.spec, producerPrefix: c.prefix}
		got := tg.replayAudienceNotice(c.dest, c.literal, c.queue)
		if c.want == nil {
			if got != "" {
				t.Errorf("%s: %q, want no note", c.name, got)
			}
			continue
		}
		if !strings.HasPrefix(got, "note: ") || !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
			t.Errorf("%s: %q, want one note line", c.name, got)
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q, want %q in it", c.name, got, w)
			}
		}
	}
}
