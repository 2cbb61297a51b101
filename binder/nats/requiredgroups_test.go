package nats_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// newLoggedBinder is newBinder with its log (WARN and above) in the
// returned buffer.
func newLoggedBinder(t testing.TB, url string) (*natsbinder.Binder, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	log := slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type, Environment: map[string]any{"servers": url}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return b.(*natsbinder.Binder), lb
}

func bindCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func consumerConfig(t testing.TB, js jetstream.JetStream, streamName, durable string) jetstream.ConsumerConfig {
	t.Helper()
	c, err := js.Consumer(bindCtx(t), streamName, durable)
	if err != nil {
		t.Fatalf("consumer %s on %s: %v", durable, streamName, err)
	}
	return c.CachedInfo().Config
}

func consumerNames(t testing.TB, js jetstream.JetStream, streamName string) []string {
	t.Helper()
	s, err := js.Stream(bindCtx(t), streamName)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	l := s.ConsumerNames(bindCtx(t))
	for n := range l.Name() {
		out = append(out, n)
	}
	if l.Err() != nil {
		t.Fatal(l.Err())
	}
	return out
}

// A producer's required-groups must not reset the durable consumer that
// the group's consumer made with its own settings (another process with
// the same configuration binds its producer later): poison-message limits
// were silently lost (max-deliver -1, ack-wait 30s, max-ack-pending 1000).
func TestRequiredGroupKeepsExistingConsumer(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "inventory")

	cb := newBinder(t, url, nil)
	closeBinder(t, cb)
	ext := map[string]any{"ack-wait": "3s", "max-deliver": 5, "max-ack-pending": 50}
	if _, err := cb.BindConsumer(bindCtx(t), stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "inv", ContentType: stream.DefaultContentType, Handler: nopHandler,
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}, Extension: ext}); err != nil {
		t.Fatal(err)
	}

	pb := newBinder(t, url, nil)
	closeBinder(t, pb)
	bindProducer(t, pb, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"inv"}}})

	cfg := consumerConfig(t, jsAt(t, url), natsbinder.StreamName(dest), natsbinder.DurableName("inv", -1))
	if cfg.AckWait != 3*time.Second || cfg.MaxDeliver != 5 || cfg.MaxAckPending != 50 {
		t.Fatalf("after the producer's required-groups: ack-wait %s, max-deliver %d, max-ack-pending %d; want the consumer's 3s, 5, 50", cfg.AckWait, cfg.MaxDeliver, cfg.MaxAckPending)
	}
}

// A partitioned producer's required group gets the durables the group's
// partitioned instances read (<group>_p<i> filtering <destination>.<i>),
// not one unfiltered <group> that no instance reads; one that exists is
// kept as it is.
func TestRequiredGroupPartitioned(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "inventory")
	js := jsAt(t, url)
	sn := natsbinder.StreamName(dest)

	// Instance 1 of 3 bound already, with settings of its own.
	cb := newBinder(t, url, nil)
	closeBinder(t, cb)
	if _, err := cb.BindConsumer(bindCtx(t), stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "inv", ContentType: stream.DefaultContentType, Handler: nopHandler,
		Consumer:  stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, Partitioned: true, InstanceIndex: 1, InstanceCount: 3},
		Extension: map[string]any{"max-deliver": 5}}); err != nil {
		t.Fatal(err)
	}

	pb := newBinder(t, url, nil)
	closeBinder(t, pb)
	bindProducer(t, pb, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{
		RequiredGroups: []string{"inv"}, PartitionKeyExpression: "headers['k']", PartitionCount: 3}})

	names := consumerNames(t, js, sn)
	if len(names) != 3 {
		t.Errorf("consumers on %s: %v, want inv_p0, inv_p1, inv_p2", sn, names)
	}
	for i := range 3 {
		cfg := consumerConfig(t, js, sn, natsbinder.DurableName("inv", i))
		if want := dest + "." + strconv.Itoa(i); cfg.FilterSubject != want || len(cfg.FilterSubjects) > 1 {
			t.Errorf("%s filters %q %v, want %s", cfg.Durable, cfg.FilterSubject, cfg.FilterSubjects, want)
		}
		if want := map[bool]int{true: 5, false: -1}[i == 1]; cfg.MaxDeliver != want {
			t.Errorf("%s: max-deliver %d, want %d", cfg.Durable, cfg.MaxDeliver, want)
		}
	}

	// Every partition reaches its instance through those durables.
	p := bindProducer(t, pb, stream.ProducerSpec{Destination: dest, Binding: "out-1", Producer: stream.ProducerConfig{PartitionKeyExpression: "headers['k']", PartitionCount: 3}})
	for i := range 3 {
		m := msg(fmt.Sprint(i))
		m.Headers[stream.HeaderPartition] = strconv.Itoa(i)
		if err := p.Send(bindCtx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		ci, err := js.Consumer(bindCtx(t), sn, natsbinder.DurableName("inv", i))
		if err != nil {
			t.Fatal(err)
		}
		info, err := ci.Info(bindCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if info.NumPending != 1 {
			t.Errorf("%s: %d pending, want 1", info.Name, info.NumPending)
		}
	}
}

// serverBelow210 reports whether the shared server is older than 2.10
// (no consumer filtering several subjects).
func serverBelow210(t testing.TB, js jetstream.JetStream) bool {
	t.Helper()
	nc := js.Conn()
	v := strings.Split(strings.TrimPrefix(nc.ConnectedServerVersion(), "v"), ".")
	if len(v) < 2 {
		t.Fatalf("server version %q", nc.ConnectedServerVersion())
	}
	major, _ := strconv.Atoi(v[0])
	minor, _ := strconv.Atoi(v[1])
	return major < 2 || (major == 2 && minor < 10)
}

// On NATS 2.9 a partitioned consumer reading several partitions fails to
// bind with advice that fits (more instances, not "a stream of its own"
// when it has one), and leaves no consumer on the server: the server made
// one without any filter, reading the whole stream.
func TestPartitionedSeveralPartitionsOn29(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	js := jsAt(t, url)
	if !serverBelow210(t, js) {
		t.Skip("server 2.10 or later filters several subjects")
	}
	dest := ownDest(t, url, "inventory")
	b := newBinder(t, url, nil)
	closeBinder(t, b)
	_, err := b.BindConsumer(bindCtx(t), stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "inv", ContentType: stream.DefaultContentType, Handler: nopHandler,
		Consumer:  stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, Partitioned: true, InstanceIndex: 0, InstanceCount: 2},
		Extension: map[string]any{"partition-count": 4}})
	if err == nil {
		t.Fatal("bound on a server before 2.10")
	}
	for _, want := range []string{"2.10", "partitions 0, 2 of partition-count 4", "instance-count 4"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "stream of its own") {
		t.Errorf("error %q advises a stream of its own, which the destination has", err)
	}
	if names := consumerNames(t, js, natsbinder.StreamName(dest)); len(names) != 0 {
		t.Errorf("the failed bind left consumers %v", names)
	}
}

// With partitioned consumers of instance-count 2 bound, a producer with
// partition-count 4 binding logs a WARN naming partitions 2 and 3, which
// no instance reads on NATS; a consumer binding where messages of those
// partitions are stored logs one too.
func TestPartitionsUnreadWarned(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "inventory")

	cb, clog := newLoggedBinder(t, url)
	closeBinder(t, cb)
	for i := range 2 {
		if _, err := cb.BindConsumer(bindCtx(t), stream.ConsumerSpec{Binding: fmt.Sprint("in-", i), Destination: dest, Group: "inv", ContentType: stream.DefaultContentType, Handler: nopHandler,
			Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, Partitioned: true, InstanceIndex: i, InstanceCount: 2}}); err != nil {
			t.Fatal(err)
		}
	}
	if l := clog.String(); strings.Contains(l, "WARN") {
		t.Errorf("consumers warned with an empty stream:\n%s", l)
	}
	pb, plog := newLoggedBinder(t, url)
	closeBinder(t, pb)
	p := bindProducer(t, pb, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{PartitionKeyExpression: "headers['k']", PartitionCount: 4}})
	if l := plog.String(); !strings.Contains(l, "unread-partitions=\"2, 3\"") || !strings.Contains(l, "inv_p<i>") {
		t.Errorf("producer log does not name partitions 2, 3 of group inv:\n%s", l)
	}
	for i := range 4 {
		m := msg(fmt.Sprint(i))
		m.Headers[stream.HeaderPartition] = strconv.Itoa(i)
		if err := p.Send(bindCtx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	cb2, clog2 := newLoggedBinder(t, url)
	closeBinder(t, cb2)
	if _, err := cb2.BindConsumer(bindCtx(t), stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "inv", ContentType: stream.DefaultContentType, Handler: nopHandler,
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, Partitioned: true, InstanceIndex: 0, InstanceCount: 2}}); err != nil {
		t.Fatal(err)
	}
	if l := clog2.String(); !strings.Contains(l, "unread-partitions=\"2, 3\"") {
		t.Errorf("consumer log does not name partitions 2, 3:\n%s", l)
	}
}

func nopHandler(context.Context, stream.Envelope) error { return nil }
