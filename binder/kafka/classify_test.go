package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestSendSizeRefusalIsPermanentPerMessage (issue 8, errors classified
// once): a message over the topic's max.message.bytes fails alone and for
// good (stream.Permanent: the core does not retry it), while the messages
// that the producer batched with it — a batch the broker refuses as a
// whole — are written.
func TestSendSizeRefusalIsPermanentPerMessage(t *testing.T) {
	t.Parallel()
	const limit = 16 << 10
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 1, map[string]string{"max.message.bytes": fmt.Sprint(limit)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A linger, so that all the sends below share one batch.
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "big-out-0", Destination: dest,
		Extension: map[string]any{"batch-timeout": "200ms"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	tr := newTracker()
	startConsumer(t, b, consumerSpec(dest, "g", tr.handler()))

	var wg sync.WaitGroup
	errs := make([]error, 21)
	for i := range errs {
		size := 2 << 10 // 20 × 2 KiB: over the limit together, not alone
		if i == 20 {
			size = limit + 1
		}
		id := fmt.Sprintf("m-%d", i)
		wg.Go(func() {
			errs[i] = p.Send(ctx, stream.Envelope{Payload: make([]byte, size), Headers: stream.Headers{idHeader: id}})
			if errs[i] == nil {
				tr.confirm(id)
			}
		})
	}
	wg.Wait()
	for i, err := range errs[:20] {
		if err != nil {
			t.Errorf("send %d (2 KiB): %v", i, err)
		}
	}
	if err := errs[20]; err == nil || !stream.IsPermanent(err) {
		t.Errorf("send of %d bytes to a topic of max.message.bytes %d: %v; want a permanent error", limit+1, limit, err)
	} else {
		t.Logf("oversized send: %v", err)
	}
	tr.waitAll(t, 10*time.Second)
}

// TestSendNotAuthorizedIsTransient (issue 8, reviewer): a send the broker
// refuses with TOPIC_AUTHORIZATION_FAILED fails at once, but not for good:
// the message is not at fault, the binding is. The error is not
// stream.Permanent (the core leaves the input for redelivery instead of
// dead-lettering or dropping it), the producer binding reports itself
// down, with one WARN line, and it is up again — with an INFO line — once
// the principal may write and a send succeeds.
func TestSendNotAuthorizedIsTransient(t *testing.T) {
	t.Parallel()
	const mech = "SCRAM-SHA-256"
	dest := uniqueTopic(t)
	c := kafkatest.Start(t, kfake.EnableSASL(), kfake.EnableACLs(), kfake.Superuser(mech, "admin", "admin-pw"),
		kfake.User(mech, "writer", "writer-pw",
			kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: dest, Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationDescribe, Allow: true}))
	createTopic(t, c, dest, 1, nil)
	logs := &logRecorder{}
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Logger: logs.logger(), Environment: map[string]any{
		"brokers": c.Brokers(), "auto-create-topics": false,
		"sasl": map[string]any{"mechanism": mech, "username": "writer", "password": "writer-pw"}}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	p := bindProducer(t, b, dest, 1)
	hc := p.(stream.BindingHealthChecker)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hc.Health(ctx); err != nil {
		t.Fatalf("health before any send: %v", err)
	}
	for i := range 3 {
		start := time.Now()
		err := p.Send(ctx, stream.Envelope{Payload: []byte("x")})
		if err == nil || stream.IsPermanent(err) || !strings.Contains(err.Error(), "Authorization") {
			t.Fatalf("send %d without write permission: %v; want a transient authorisation error", i, err)
		}
		t.Logf("refused in %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	if err := hc.Health(ctx); err == nil || !strings.Contains(err.Error(), "Authorization") {
		t.Errorf("health after refused sends: %v; want down, naming the authorisation failure", err)
	} else {
		t.Logf("down: %v", err)
	}

	admin, err := scram.Mechanism(scram.SHA256, "admin", "admin-pw")
	if err != nil {
		t.Fatal(err)
	}
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...), Transport: &kafkago.Transport{SASL: admin}}
	res, err := cl.CreateACLs(ctx, &kafkago.CreateACLsRequest{ACLs: []kafkago.ACLEntry{{
		ResourceType: kafkago.ResourceTypeTopic, ResourceName: dest, ResourcePatternType: kafkago.PatternTypeLiteral,
		Principal: "User:writer", Host: "*", Operation: kafkago.ACLOperationTypeWrite, PermissionType: kafkago.ACLPermissionTypeAllow,
	}}})
	if err == nil {
		err = errors.Join(res.Errors...)
	}
	if err != nil {
		t.Fatalf("grant write: %v", err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("x")}); err != nil {
		t.Fatalf("send once write is granted: %v", err)
	}
	if err := hc.Health(ctx); err != nil {
		t.Errorf("health after a send succeeded: %v", err)
	}
	if n := logs.count(slog.LevelWarn, "kafka: the topic is missing or refuses", time.Time{}); n != 1 {
		t.Errorf("%d WARN lines for the binding going down over 3 refused sends; want 1", n)
	}
	if n := logs.count(slog.LevelWarn, "kafka: send failed", time.Time{}); n != 0 {
		t.Errorf("%d WARN lines per refused send; want them at debug (the binding is known down)", n)
	}
	if n := logs.count(slog.LevelInfo, "kafka: the topic takes records again", time.Time{}); n != 1 {
		t.Errorf("%d INFO lines for the binding coming back; want 1", n)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestBindUnavailable (issue 8, one start-up rule): with no reachable
// cluster, BindProducer and BindConsumer fail promptly with an error
// wrapped with stream.Unavailable (the app retries such binds until the
// binder's startup-timeout); errors the broker gave are not wrapped.
func TestBindUnavailable(t *testing.T) {
	t.Run("no cluster", func(t *testing.T) {
		b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type,
			Environment: map[string]any{"brokers": closedPort(t), "dial-timeout": "2s"}, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		closeBinder(t, b)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: "x"})
		if !errors.Is(err, stream.ErrUnavailable) {
			t.Errorf("BindProducer: %v; want stream.ErrUnavailable", err)
		}
		_, err = b.BindConsumer(ctx, consumerSpec("x", "g", func(context.Context, stream.Envelope) error { return nil }))
		if !errors.Is(err, stream.ErrUnavailable) {
			t.Errorf("BindConsumer: %v; want stream.ErrUnavailable", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the binds took %s; want them bounded by the 2s dial timeout", d)
		}
		t.Logf("both failed in %s: %v", time.Since(start).Round(time.Millisecond), err)
	})

	c := kafkatest.Start(t)
	const mech = "PLAIN"
	sc := kafkatest.Start(t, kfake.EnableSASL(), kfake.Superuser(mech, "admin", "admin-pw"))
	for _, tc := range []struct {
		name string
		c    *kafkatest.Cluster
		env  map[string]any
	}{
		{"replication factor over the broker count", c, map[string]any{"replication-factor": 3}},
		{"missing topic with auto-create off", c, map[string]any{"auto-create-topics": false}},
		{"wrong password", sc, map[string]any{"dial-timeout": "2s", "sasl": map[string]any{"mechanism": mech, "username": "admin", "password": "not-the-pw-7"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBinder(t, tc.c, tc.env)
			closeBinder(t, b)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: uniqueTopic(t)})
			if err == nil || errors.Is(err, stream.ErrUnavailable) {
				t.Fatalf("BindProducer: %v; want an error not wrapped with stream.Unavailable", err)
			}
			t.Logf("error (as expected): %v", err)
		})
	}
}

// TestProducerHealthTopicGone (issue 8): with auto-create-topics off, a
// producer binding whose topic was deleted reports itself down, and up
// again once the topic exists again. Its sends fail meanwhile, but not for
// good (not stream.Permanent): the message is not at fault, so the core
// leaves the input for redelivery. The binding's health is probed every
// 200ms rather than the default 2s: what is tested is that it follows the
// topic, not how soon (TestHealthFollowsCluster times the defaults).
func TestProducerHealthTopicGone(t *testing.T) {
	c := kafkatest.Start(t)
	b := newBinder(t, c, map[string]any{"auto-create-topics": false, "health-interval": "200ms"})
	closeBinder(t, b)
	dest := uniqueTopic(t)
	createTopic(t, c, dest, 1, nil)
	p := bindProducer(t, b, dest, 1)
	hc, ok := p.(stream.BindingHealthChecker)
	if !ok {
		t.Fatal("the producer binding does not implement stream.BindingHealthChecker")
	}
	health := func(ctx context.Context) error { return hc.Health(ctx) }
	waitFor(t, 5*time.Second, "producer up", func() bool { return health(context.Background()) == nil })
	if err := c.Kfake.DeleteTopic(dest); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "producer down after its topic was deleted", func() bool { return health(context.Background()) != nil })
	t.Logf("down: %v", health(context.Background()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("x")}); err == nil || stream.IsPermanent(err) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("send to the deleted topic: %v; want a transient error saying that the topic does not exist", err)
	} else {
		t.Logf("send: %v", err)
	}
	createTopic(t, c, dest, 1, nil)
	waitFor(t, 5*time.Second, "producer up after the topic is back", func() bool { return health(context.Background()) == nil })
	var err error
	waitFor(t, 10*time.Second, "a send to the topic that is back", func() bool {
		err = p.Send(ctx, stream.Envelope{Payload: []byte("x")})
		return err == nil
	})
}

// TestProducerRecreatesDeletedTopic: with auto-create-topics on, a send to
// a topic deleted at run time creates it again.
func TestProducerRecreatesDeletedTopic(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	p := bindProducer(t, b, dest, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("before")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Kfake.DeleteTopic(dest); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("after")}); err != nil {
		t.Fatalf("send after the topic was deleted: %v", err)
	}
	t.Logf("sent after %s", time.Since(start).Round(time.Millisecond))
	if hc := p.(stream.BindingHealthChecker); hc.Health(ctx) != nil {
		t.Errorf("health: %v", hc.Health(ctx))
	}
}

// waitFor polls cond (cheap, in memory) until it holds or within passed.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
