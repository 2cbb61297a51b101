package nats_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// bindLogged binds (without starting) a consumer of group g on dest in a
// binder of its own whose WARN lines it returns, with the bind's error.
func bindLogged(t *testing.T, url, dest string, cc stream.ConsumerConfig, ext map[string]any) (string, error) {
	t.Helper()
	lb := &logBuffer{}
	b, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type, Environment: map[string]any{"servers": url},
		Logger: slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBinder(t, b)
	cc.Concurrency, cc.MaxAttempts, cc.InstanceCount = 1, 1, max(cc.InstanceCount, 1)
	_, err = b.BindConsumer(bindCtx(t), stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType, Handler: nopHandler,
		Consumer: cc, Extension: ext})
	return lb.String(), err
}

// A redeploy that changes a group's start-offset had no effect, without a
// word: start-offset applies only when the group's durable is made, and the
// existing one keeps its position. The bind says so, naming the durable,
// both values and what to do; the same start-offset says nothing.
func TestChangedStartOffsetWarns(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "startoffset")
	for _, ext := range []map[string]any{nil, {"start-offset": "earliest"}} {
		if log, err := bindLogged(t, url, dest, stream.ConsumerConfig{}, ext); err != nil || strings.Contains(log, "start-offset") {
			t.Fatalf("bind with %v: %v; log %q", ext, err, log)
		}
	}
	log, err := bindLogged(t, url, dest, stream.ConsumerConfig{}, map[string]any{"start-offset": "latest"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", log)
	for _, want := range []string{"start-offset latest has no effect", "consumer=g", "durable-made-with=earliest", "nats consumer rm"} {
		if !strings.Contains(log, want) {
			t.Errorf("the WARN lacks %q: %q", want, log)
		}
	}
	js := jsAt(t, url)
	c, err := js.Consumer(bindCtx(t), natsbinder.StreamName(dest), "g")
	if err != nil {
		t.Fatal(err)
	}
	if p := c.CachedInfo().Config.DeliverPolicy; p != jetstream.DeliverAllPolicy {
		t.Fatalf("the durable's deliver policy is %v, want it kept at all", p)
	}
}

// A redeploy that makes a group partitioned leaves its unpartitioned
// durable (and the other way round the partitioned ones) with what they
// had not delivered, read by no member, without a word; the bind of the
// new shape says so, naming the old durables and their pending messages.
func TestGroupShapeChangeWarns(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	part := func(i int) stream.ConsumerConfig {
		return stream.ConsumerConfig{Partitioned: true, InstanceIndex: i, InstanceCount: 2}
	}

	t.Run("made partitioned", func(t *testing.T) {
		dest := ownDest(t, url, "topart")
		if log, err := bindLogged(t, url, dest, stream.ConsumerConfig{}, nil); err != nil || strings.Contains(log, "durable consumers exist") {
			t.Fatalf("first bind: %v; log %q", err, log)
		}
		b := newBinder(t, url, nil)
		closeBinder(t, b)
		p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
		if err := p.Send(context.Background(), msg("left")); err != nil {
			t.Fatal(err)
		}
		log, err := bindLogged(t, url, dest, part(0), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s", log)
		for _, want := range []string{"the group's unpartitioned durable consumers exist, and no member reads them: the group is partitioned",
			"an earlier deployment of the group left them (it was unpartitioned), or an unpartitioned producer's required-groups, which makes the durable g,", "old-consumers=g ", "pending=1", "nats consumer rm"} {
			if !strings.Contains(log, want) {
				t.Errorf("the WARN lacks %q: %q", want, log)
			}
		}
	})

	t.Run("made unpartitioned", func(t *testing.T) {
		dest := ownDest(t, url, "fromp")
		for i := range 2 {
			if log, err := bindLogged(t, url, dest, part(i), nil); err != nil || strings.Contains(log, "durable consumers exist") {
				t.Fatalf("bind of instance %d: %v; log %q", i, err, log)
			}
		}
		log, err := bindLogged(t, url, dest, stream.ConsumerConfig{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s", log)
		for _, want := range []string{"the group's partitioned durable consumers exist, and no member reads them: the group is unpartitioned",
			"a partitioned producer's required-groups, which makes g_p<partition> for each partition,", `old-consumers="g_p0, g_p1"`,
			"the group's unpartitioned durables started where start-offset says"} {
			if !strings.Contains(log, want) {
				t.Errorf("the WARN lacks %q: %q", want, log)
			}
		}
	})

	// Switched back (new-user trial): the unpartitioned durable of the first
	// deployment resumes with what was sent meanwhile. The WARN said it
	// "started where start-offset says"; it names it and its backlog.
	t.Run("switched back", func(t *testing.T) {
		dest := ownDest(t, url, "back")
		b := newBinder(t, url, nil)
		closeBinder(t, b)
		handled := make(chan struct{}, 1)
		c, err := b.BindConsumer(bindCtx(t), stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
			Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1},
			Handler: func(context.Context, stream.Envelope) error {
				select {
				case handled <- struct{}{}:
				default:
				}
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(bindCtx(t)); err != nil {
			t.Fatal(err)
		}
		p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
		if err := p.Send(context.Background(), msg("first deployment")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-handled:
		case <-time.After(30 * time.Second):
			t.Fatal("the first deployment's message was not handled")
		}
		if err := c.Stop(bindCtx(t)); err != nil {
			t.Fatal(err)
		}
		for i := range 2 { // the partitioned deployment
			if _, err := bindLogged(t, url, dest, part(i), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Send(context.Background(), msg("while partitioned")); err != nil {
			t.Fatal(err)
		}
		log, err := bindLogged(t, url, dest, stream.ConsumerConfig{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s", log)
		for _, want := range []string{"the group's partitioned durable consumers exist",
			"this binding's durable g was made by an earlier unpartitioned deployment and goes on where it stopped", "consumer=g ", "consumer-pending=1"} {
			if !strings.Contains(log, want) {
				t.Errorf("the WARN lacks %q: %q", want, log)
			}
		}
		if strings.Contains(log, "durables started where start-offset says") {
			t.Errorf("the WARN says the resumed durable started at start-offset: %q", log)
		}
	})
}

// A partitioned producer's required-groups makes the group's durables
// g_p0, g_p1 (SCSt's shape), which the group's unpartitioned consumer does
// not read; the consumer's bind warned that "the group's partitioned durable
// consumers of an earlier deployment still exist" on the very first run,
// when this app's own producer had made them moments before (new-user
// trial). The WARN names the producer's required-groups as a cause beside
// an earlier deployment, and what to set, claiming neither.
func TestGroupShapeWarnNamesRequiredGroups(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "rgshape")
	b := newBinder(t, url, nil)
	closeBinder(t, b)
	bindProducer(t, b, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{
		RequiredGroups: []string{"g"}, PartitionKeyExpression: "headers['k']", PartitionCount: 2}})
	log, err := bindLogged(t, url, dest, stream.ConsumerConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", log)
	if strings.Contains(log, "consumers of an earlier deployment still exist") {
		t.Errorf("the WARN says the durables are an earlier deployment's: %q", log)
	}
	for _, want := range []string{"the group's partitioned durable consumers exist, and no member reads them: the group is unpartitioned",
		"or a partitioned producer's required-groups, which makes g_p<partition> for each partition, perhaps this app's own: set that producer's required-groups without this group",
		`old-consumers="g_p0, g_p1"`, "pending=0"} {
		if !strings.Contains(log, want) {
			t.Errorf("the WARN lacks %q: %q", want, log)
		}
	}
}

// A durable JetStream refuses to update (made by hand with ack policy all)
// fails the bind with an error that names the binding, the durable, the
// setting it cannot change and what to do, not only the server's text.
func TestRefusedDurableUpdateNamesSetting(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "refused")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js := jsAt(t, url)
	name := natsbinder.StreamName(dest)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{dest, dest + ".>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateConsumer(ctx, name, jetstream.ConsumerConfig{Durable: "g", AckPolicy: jetstream.AckAllPolicy}); err != nil {
		t.Fatal(err)
	}
	_, err := bindLogged(t, url, dest, stream.ConsumerConfig{}, map[string]any{"ack-wait": "5s"})
	if err == nil {
		t.Fatal("the bind succeeded")
	}
	t.Logf("%v", err)
	for _, want := range []string{"in-0", "durable consumer g on stream " + name, "ack policy all", "ack-wait 30s → 5s", "nats consumer rm " + name + " g"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the bind error lacks %q: %v", want, err)
		}
	}
}
