package bindertest

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// partHeader carries the partition the suite expects a message in.
const partHeader = "x-bindertest-partition"

// RunInstanceIndexList runs the subtest InstanceIndexList of the suite
// alone, for a binder configured otherwise than in its [Run] (Kafka's
// fixed assignment: Harness.AppConsumerExtension auto-rebalance-enabled
// false, Harness.AppType "kafka").
func RunInstanceIndexList(t *testing.T, h Harness) {
	t.Helper()
	h = h.withDefaults(t)
	testInstanceIndexList(newSuite(t, h))
}

// testInstanceIndexList: consumer.instance-index-list, through stream.App
// as an application configures it. A partitioned consumer binding with
// group g, instance-count 3 and instance-index-list [0, 2] on a
// destination a partitioned producer (partition-count 3) sends to reads
// the messages of partitions 0 and 2, each once, and none of partition 1
// (sent first, so that it would have come by the end): the app binds one
// consumer per index, as SCSt does. Received.Partition, where the binder
// sets it, is the message's partition (on RabbitMQ, the instance-index of
// the consumer whose queue it came from). With
// Harness.GroupAssignsPartitions (Kafka's group path: the group assigns
// the partitions, not the indexes) the two consumers are members of one
// group and together read every partition's messages.
func testInstanceIndexList(s *suite) {
	const (
		partitions = 3
		n          = 60
	)
	typ := s.h.AppType
	if typ == "" {
		typ = "bindertest"
	}
	dest := s.dest("indexlist")
	col := newCollector()
	all := s.h.GroupAssignsPartitions
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(_ context.Context, m stream.Message[string]) error {
		part, _ := strconv.Atoi(m.Headers[partHeader])
		if part == 1 && !all {
			col.violation("%s of partition 1 received: instance-index-list [0, 2] does not read it", m.Payload)
		}
		if r := m.Received; r.HasPartition && r.Partition != part {
			col.violation("%s of partition %d received with Received.Partition %d", m.Payload, part, r.Partition)
		}
		col.record(0, stream.Envelope{Payload: []byte(m.Payload), Headers: m.Headers})
		return nil
	})
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "sink"},
		OutputBindings: "send",
		DefaultBinder:  "b",
		Binders:        map[string]stream.BinderConfig{"b": {Type: typ}},
		Bindings: map[string]stream.BindingConfig{
			"send": {Destination: dest, ContentType: "text/plain",
				Producer: stream.ProducerConfig{PartitionKeyExpression: "headers['pk']", PartitionCount: partitions}},
			"sink-in-0": {Destination: dest, Group: "g", ContentType: "text/plain",
				Consumer: stream.ConsumerConfig{Partitioned: true, InstanceCount: 3, InstanceIndexList: []int{0, 2}}},
		},
	}
	if ext := s.h.AppConsumerExtension; ext != nil {
		cfg.Extensions = map[string]stream.ExtensionConfig{typ: {Default: stream.ExtensionBindingConfig{Consumer: ext}}}
	}
	// The app makes its binder and closes it when it stops.
	factory := func(context.Context, stream.BinderSettings) (stream.Binder, error) { return s.h.NewBinder(s.t), nil }
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(typ, factory), stream.WithoutSignals(), stream.WithLogger(s.log))
	if err != nil {
		s.t.Fatal(err)
	}
	RunApp(s.t, app)
	byPart := make([][]string, partitions)
	for i := range n {
		key := "k-" + strconv.Itoa(i)
		part := stream.SelectPartition(stream.PartitionHash(key), partitions)
		byPart[part] = append(byPart[part], "p"+strconv.Itoa(part)+"-"+strconv.Itoa(i))
	}
	for part, idList := range byPart {
		if len(idList) == 0 {
			s.t.Fatalf("bindertest: no key of the %d goes to partition %d", n, part)
		}
	}
	send := func(part int, id string) error {
		ctx, cancel := s.ctx()
		defer cancel()
		return app.Bridge().Send(ctx, "send", stream.NewMessage(id, IDHeader, id, "pk", "k-"+id[len("p0-"):], partHeader, strconv.Itoa(part)))
	}
	// Partition 1 first: on RabbitMQ no queue is bound to its routing key
	// (unless all), so a send may fail as unroutable.
	for _, id := range byPart[1] {
		if err := send(1, id); err != nil && all {
			s.t.Fatalf("Send(%s): %v", id, err)
		}
	}
	want := append(slices.Clone(byPart[0]), byPart[2]...)
	if all {
		want = append(want, byPart[1]...)
	}
	for _, id := range want {
		if id[1] == '1' {
			continue // sent above
		}
		if err := send(int(id[1]-'0'), id); err != nil {
			s.t.Fatalf("Send(%s): %v", id, err)
		}
	}
	what := "the messages of partitions 0 and 2 at instance-index-list [0, 2]"
	if all {
		what = "the messages of every partition at the group's two members"
	}
	s.waitIDs(col, what, want)
	// What of partition 1 came late would come by now (the handler
	// reports it as a violation).
	time.Sleep(s.h.Quiet)
	s.wait(col, "no message of partition 1", func() bool { return true })
	s.checkOnce(col, want)
	if !all {
		s.checkNone(col, "partition 1 (not in instance-index-list)", byPart[1])
	}
}
