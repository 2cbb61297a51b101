package memory_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

func TestSettings(t *testing.T) {
	ctx := ctxT(t)
	for _, tc := range []struct {
		name    string
		env     map[string]any
		binder  map[string]any
		wantErr []string // substrings; nil: no error
	}{
		{name: "defaults"},
		{name: "kebab int", env: map[string]any{"buffer-size": 16, "batch-size": 4}},
		{name: "camel string", env: map[string]any{"bufferSize": "16"}, binder: map[string]any{"batchSize": "8"}},
		{name: "lower-cased by a loader", env: map[string]any{"buffersize": 16.0}},
		{name: "unknown keys", env: map[string]any{"brokers": "x"}, binder: map[string]any{"prefetch": 3},
			wantErr: []string{"stream.binders.memory.environment.brokers", "stream.memory.binder.prefetch", "unknown key"}},
		{name: "bad values", env: map[string]any{"buffer-size": -1, "batch-size": "many"},
			wantErr: []string{"buffer-size: must be at least 1", "batch-size: want a whole number"}},
		{name: "fraction", env: map[string]any{"buffer-size": 2.5}, wantErr: []string{"whole number"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stream.BinderSettings{Name: "memory", Type: memory.Type, Environment: tc.env, Binder: tc.binder}
			for fname, f := range map[string]stream.BinderFactory{"New": memory.New, "Factory": memory.Factory(newBroker(t, memory.Config{}))} {
				bd, err := f(ctx, s)
				if tc.wantErr == nil {
					if err != nil {
						t.Fatalf("%s: %v", fname, err)
					}
					must(t, bd.Close(ctx))
					continue
				}
				if err == nil {
					t.Fatalf("%s: no error, want one mentioning %q", fname, tc.wantErr)
				}
				var ces stream.ConfigErrors
				if !errors.As(err, &ces) {
					t.Errorf("%s: error %T is not a stream.ConfigErrors", fname, err)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not mention %q", fname, err, w)
					}
				}
			}
		})
	}
	if _, err := memory.NewBroker(memory.Config{BufferSize: -1}); err == nil {
		t.Error("NewBroker accepted a negative buffer size")
	}

	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	err := bd.ValidateConsumer(stream.ConsumerSpec{Binding: "x-in-0", Extension: map[string]any{"prefetch": 1}})
	if err == nil || !strings.Contains(err.Error(), "stream.memory.bindings.x-in-0.consumer.prefetch") {
		t.Errorf("ValidateConsumer with an extension key: %v", err)
	}
	if _, err := bd.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: "d", Extension: map[string]any{"acks": "all"}}); err == nil ||
		!strings.Contains(err.Error(), "stream.memory.bindings.x-out-0.producer.acks") {
		t.Errorf("BindProducer with an extension key: %v", err)
	}
	if err := bd.ValidateProducer(stream.ProducerSpec{Binding: "x-out-0"}); err != nil {
		t.Errorf("ValidateProducer without extension: %v", err)
	}
}

func TestBackPressure(t *testing.T) {
	const capacity = 4
	br := newBroker(t, memory.Config{BufferSize: capacity})
	bd := newBinder(t, br, nil)
	var overfull atomic.Int32
	in := newInbox()
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "bp", Group: "g", Handler: func(ctx context.Context, m stream.Envelope) error {
		if n, _ := br.Depth("bp", "g"); n > capacity {
			overfull.Add(1)
		}
		return in.handler(ctx, m)
	}})
	p := producer(t, bd, stream.ProducerSpec{Destination: "bp"})
	for i := range capacity {
		must(t, p.Send(ctxT(t), msg("m"+strconv.Itoa(i), -1)))
	}
	if n, _ := br.Depth("bp", "g"); n != capacity {
		t.Fatalf("depth %d, want %d", n, capacity)
	}

	// A full queue blocks Send until its context ends...
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.Send(short, msg("blocked", -1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send to a full queue: %v, want a wrapped context.DeadlineExceeded", err)
	}
	// ...and a cancelled context fails at once.
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := p.Send(cancelled, msg("cancelled", -1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a cancelled context: %v", err)
	}
	if n, _ := br.Depth("bp", "g"); n != capacity {
		t.Fatalf("failed sends changed the depth to %d", n)
	}

	// A blocked Send completes once the consumer frees space.
	sent := make(chan error, 1)
	go func() { sent <- p.Send(ctxT(t), msg("m4", -1)) }()
	must(t, c.Start(ctxT(t)))
	select {
	case err := <-sent:
		must(t, err)
	case <-time.After(wait):
		t.Fatal("Send stayed blocked after the consumer started")
	}
	in.expect(t, "m0", "m1", "m2", "m3", "m4")

	// Under sustained load the queue never holds more than its capacity.
	const n = 2000
	for i := range n {
		must(t, p.Send(ctxT(t), msg(strconv.Itoa(i), -1)))
	}
	for i := range n {
		in.expect(t, strconv.Itoa(i))
	}
	if k := overfull.Load(); k > 0 {
		t.Errorf("queue held more than %d messages %d times", capacity, k)
	}
}

func TestRequiredGroups(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	p := producer(t, bd, stream.ProducerSpec{Destination: "orders", Producer: stream.ProducerConfig{RequiredGroups: []string{"audit"}}})
	for i := range 10 {
		must(t, p.Send(ctxT(t), msg("early"+strconv.Itoa(i), -1)))
	}
	other, audit := newInbox(), newInbox()
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: "orders", Group: "other", Handler: other.handler}).Start(ctxT(t)))
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: "orders", Group: "audit", Handler: audit.handler}).Start(ctxT(t)))
	must(t, p.Send(ctxT(t), msg("late", -1)))
	for i := range 10 {
		audit.expect(t, "early"+strconv.Itoa(i))
	}
	audit.expect(t, "late")
	other.expect(t, "late") // the group that was not required missed the early ones
}

// TestRequiredGroupsRelayout: a required group provisioned by a partitioned
// producer is re-laid out for consumers with another instance count,
// keeping every message and per-partition order.
func TestRequiredGroupsRelayout(t *testing.T) {
	br := newBroker(t, memory.Config{})
	bd := newBinder(t, br, nil)
	p := producer(t, bd, stream.ProducerSpec{Destination: "parts", Producer: stream.ProducerConfig{
		PartitionCount: 6, PartitionKeyExpression: "key", RequiredGroups: []string{"g"}}})
	const n = 60
	for i := range n {
		must(t, p.Send(ctxT(t), msg(strconv.Itoa(i), i%6)))
	}
	if d, ok := br.Depth("parts", "g"); !ok || d != n {
		t.Fatalf("required group depth %d (exists %v), want %d", d, ok, n)
	}
	ins := make([]inbox, 3)
	for i := range ins {
		ins[i] = newInbox()
		c := consumer(t, bd, stream.ConsumerSpec{Destination: "parts", Group: "g", Handler: ins[i].handler,
			Consumer: stream.ConsumerConfig{Partitioned: true, InstanceCount: 3, InstanceIndex: i}})
		must(t, c.Start(ctxT(t)))
	}
	for i, in := range ins {
		for j := range n / 3 {
			m := in.next(t)
			k, _ := strconv.Atoi(string(m.Payload))
			part, _ := strconv.Atoi(m.Headers[stream.HeaderPartition])
			if part%3 != i {
				t.Fatalf("instance %d got partition %d", i, part)
			}
			// Instance i gets partitions i and i+3 interleaved in send order.
			if want := i + 3*j; k != want {
				t.Fatalf("instance %d: message %d is %d, want %d", i, j, k, want)
			}
		}
	}
	// A consumer with another layout cannot join while these are bound.
	_, err := bd.BindConsumer(ctxT(t), stream.ConsumerSpec{Binding: "x-in-0", Destination: "parts", Group: "g", Handler: newInbox().handler})
	if err == nil || !strings.Contains(err.Error(), "instance-count") {
		t.Errorf("binding a non-partitioned consumer to a partitioned group: %v", err)
	}
}

func TestAnonymousStartsAtLatest(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	p := producer(t, bd, stream.ProducerSpec{Destination: "news"})
	in := newInbox()
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "news", Handler: in.handler})
	must(t, p.Send(ctxT(t), msg("before-start", -1)))
	must(t, c.Start(ctxT(t)))
	must(t, p.Send(ctxT(t), msg("after-start", -1)))
	in.expect(t, "after-start") // FIFO: "before-start" would have come first
	must(t, c.Stop(ctxT(t)))
	must(t, p.Send(ctxT(t), msg("while-stopped", -1)))
	must(t, c.Start(ctxT(t)))
	must(t, p.Send(ctxT(t), msg("after-restart", -1)))
	in.expect(t, "after-restart")
}

func TestPartitionedInstances(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	ins := make([]inbox, 3)
	for i := range ins {
		ins[i] = newInbox()
		c := consumer(t, bd, stream.ConsumerSpec{Destination: "p", Group: "g", Handler: ins[i].handler,
			Consumer: stream.ConsumerConfig{Partitioned: true, InstanceCount: 3, InstanceIndex: i, Concurrency: 2}})
		must(t, c.Start(ctxT(t)))
	}
	// An anonymous partitioned consumer gets every partition's messages:
	// partitioned does not apply without a group (SCSt's rule).
	anon := newInbox()
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: "p", Handler: anon.handler,
		Consumer: stream.ConsumerConfig{Partitioned: true, InstanceCount: 3, InstanceIndex: 1}}).Start(ctxT(t)))
	p := producer(t, bd, stream.ProducerSpec{Destination: "p"})
	const n = 60
	for i := range n {
		must(t, p.Send(ctxT(t), msg(strconv.Itoa(i), i%6)))
	}
	for i, in := range ins {
		last := map[int]int{}
		for range n / 3 {
			m := in.next(t)
			k, _ := strconv.Atoi(string(m.Payload))
			part := k % 6
			if part%3 != i {
				t.Fatalf("instance %d got message %d of partition %d", i, k, part)
			}
			if prev, ok := last[part]; ok && k < prev {
				t.Fatalf("instance %d: partition %d out of order: %d after %d", i, part, k, prev)
			}
			last[part] = k
		}
	}
	must(t, p.Send(ctxT(t), msg("no-partition", -1)))
	ins[0].expect(t, "no-partition") // no partition header: partition 0
	got := map[string]bool{}
	for range n + 1 {
		got[string(anon.next(t).Payload)] = true
	}
	for i := range n {
		if !got[strconv.Itoa(i)] {
			t.Fatalf("anonymous partitioned consumer (instance 1 of 3): message %d (partition %d) missing", i, i%6)
		}
	}
	if !got["no-partition"] {
		t.Fatal("anonymous partitioned consumer: the message without a partition header missing")
	}
}

func TestPauseResumeUnderTraffic(t *testing.T) {
	const capacity, n = 64, 1000
	br := newBroker(t, memory.Config{BufferSize: capacity})
	bd := newBinder(t, br, nil)
	var paused atomic.Bool
	var duringPause atomic.Int32
	in := newInbox()
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "traffic", Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 4},
		Handler: func(ctx context.Context, m stream.Envelope) error {
			if paused.Load() {
				duringPause.Add(1)
			}
			return in.handler(ctx, m)
		}})
	must(t, c.Start(ctxT(t)))
	p := producer(t, bd, stream.ProducerSpec{Destination: "traffic"})
	sendErr := make(chan error, 1)
	pausing := make(chan struct{})
	go func() {
		for i := range n {
			if i == n/2 {
				<-pausing // make sure traffic goes on during the pause
			}
			if err := p.Send(ctxT(t), msg(strconv.Itoa(i), -1)); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- nil
	}()
	seen := make(map[string]bool, n)
	for range 100 {
		seen[string(in.next(t).Payload)] = true
	}
	must(t, c.Pause(ctxT(t)))
	paused.Store(true)
	close(pausing)
	// While paused, the producer fills the queue and then blocks.
	deadline := time.Now().Add(wait)
	for d, _ := br.Depth("traffic", "g"); d < capacity; d, _ = br.Depth("traffic", "g") {
		if time.Now().After(deadline) {
			t.Fatalf("queue depth %d while paused never reached %d", d, capacity)
		}
		time.Sleep(time.Millisecond)
	}
	paused.Store(false)
	if k := duringPause.Load(); k > 0 {
		t.Fatalf("%d messages delivered while paused", k)
	}
	must(t, c.Resume(ctxT(t)))
	for len(seen) < n {
		id := string(in.next(t).Payload)
		if seen[id] {
			t.Fatalf("message %s delivered twice", id)
		}
		seen[id] = true
	}
	must(t, <-sendErr)
}

func TestStopStartResumes(t *testing.T) {
	br := newBroker(t, memory.Config{})
	bd := newBinder(t, br, nil)
	in := newInbox()
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "resume", Group: "g", Handler: in.handler})
	must(t, c.Start(ctxT(t)))
	p := producer(t, bd, stream.ProducerSpec{Destination: "resume"})
	must(t, p.Send(ctxT(t), msg("a", -1)))
	in.expect(t, "a")
	must(t, c.Stop(ctxT(t)))
	must(t, p.Send(ctxT(t), msg("b", -1)))
	must(t, p.Send(ctxT(t), msg("c", -1)))
	if d, _ := br.Depth("resume", "g"); d != 2 {
		t.Fatalf("depth while stopped %d, want 2", d)
	}
	must(t, c.Start(ctxT(t)))
	in.expect(t, "b", "c")

	// A consumer on another binder of the same broker continues the group
	// after the first binder is closed.
	must(t, bd.Close(ctxT(t)))
	bd2 := newBinder(t, br, nil)
	must(t, producer(t, bd2, stream.ProducerSpec{Destination: "resume"}).Send(ctxT(t), msg("d", -1)))
	in2 := newInbox()
	must(t, consumer(t, bd2, stream.ConsumerSpec{Destination: "resume", Group: "g", Handler: in2.handler}).Start(ctxT(t)))
	in2.expect(t, "d")
}

func TestNakRedeliveryOrder(t *testing.T) {
	br := newBroker(t, memory.Config{RedeliveryDelay: time.Millisecond})
	bd := newBinder(t, br, nil)

	t.Run("concurrency 1", func(t *testing.T) {
		var mu sync.Mutex
		var order []string
		done := make(chan struct{})
		nakked := false
		c := consumer(t, bd, stream.ConsumerSpec{Destination: "nak1", Group: "g", Handler: func(_ context.Context, m stream.Envelope) error {
			mu.Lock()
			defer mu.Unlock()
			id := string(m.Payload)
			order = append(order, id)
			if id == "3" && !nakked {
				nakked = true
				return fmt.Errorf("later: %w", stream.ErrNak)
			}
			if id == "9" {
				close(done)
			}
			return nil
		}})
		p := producer(t, bd, stream.ProducerSpec{Destination: "nak1"})
		for i := range 10 {
			must(t, p.Send(ctxT(t), msg(strconv.Itoa(i), 0)))
		}
		must(t, c.Start(ctxT(t)))
		<-done
		mu.Lock()
		defer mu.Unlock()
		if got, want := strings.Join(order, ","), "0,1,2,3,3,4,5,6,7,8,9"; got != want {
			t.Errorf("handling order %s, want %s", got, want)
		}
	})

	t.Run("concurrency 4", func(t *testing.T) {
		const keys, perKey = 6, 50
		var mu sync.Mutex
		next := map[string]int{}
		tries := map[string]int{}
		busy := map[string]bool{}
		var violations []string
		var acked atomic.Int32
		done := make(chan struct{})
		c := consumer(t, bd, stream.ConsumerSpec{Destination: "nak4", Group: "g", Consumer: stream.ConsumerConfig{Concurrency: 4},
			Handler: func(_ context.Context, m stream.Envelope) error {
				key, id := string(m.Key), string(m.Payload)
				seq, _ := strconv.Atoi(strings.TrimPrefix(id, key+"/"))
				mu.Lock()
				if busy[key] {
					violations = append(violations, "concurrent "+id)
				}
				if seq != next[key] {
					violations = append(violations, fmt.Sprintf("%s handled when %d was due", id, next[key]))
				}
				busy[key] = true
				tries[id]++
				nak := seq%5 == 0 && tries[id] == 1
				mu.Unlock()
				time.Sleep(20 * time.Microsecond)
				mu.Lock()
				busy[key] = false
				if !nak {
					next[key] = seq + 1
				}
				mu.Unlock()
				if nak {
					return stream.ErrNak
				}
				if acked.Add(1) == keys*perKey {
					close(done)
				}
				return nil
			}})
		must(t, c.Start(ctxT(t)))
		p := producer(t, bd, stream.ProducerSpec{Destination: "nak4"})
		for i := range perKey {
			for k := range keys {
				key := "k" + strconv.Itoa(k)
				must(t, p.Send(ctxT(t), stream.Envelope{Payload: []byte(key + "/" + strconv.Itoa(i)), Key: []byte(key)}))
			}
		}
		select {
		case <-done:
		case <-time.After(wait):
			t.Fatalf("only %d of %d messages acknowledged", acked.Load(), keys*perKey)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(violations) > 0 {
			t.Errorf("per-key order broken: %v", violations[:min(len(violations), 5)])
		}
	})
}

func TestConcurrency(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	const n = 4
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "par", Group: "g", Consumer: stream.ConsumerConfig{Concurrency: n},
		Handler: func(context.Context, stream.Envelope) error {
			arrived <- struct{}{}
			<-release
			return nil
		}})
	must(t, c.Start(ctxT(t)))
	p := producer(t, bd, stream.ProducerSpec{Destination: "par"})
	for i := range n {
		must(t, p.Send(ctxT(t), msg(strconv.Itoa(i), -1))) // no key: any worker
	}
	for i := range n {
		select {
		case <-arrived:
		case <-time.After(wait):
			t.Fatalf("only %d of %d handler calls run at once", i, n)
		}
	}
	close(release)
}

func TestDeadLetterHeaders(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	dead := newInbox()
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: stream.DLQName("pay", "billing"), Group: "dlq", Handler: dead.handler}).Start(ctxT(t)))
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "pay", Group: "billing", Consumer: stream.ConsumerConfig{DLQ: true},
		Handler: func(_ context.Context, m stream.Envelope) error {
			if string(m.Payload) == "panic" {
				panic("boom")
			}
			return stream.Permanent(errors.New("card declined"))
		}})
	must(t, c.Start(ctxT(t)))
	p := producer(t, bd, stream.ProducerSpec{Destination: "pay"})
	before := time.Now().UnixMilli()
	must(t, p.Send(ctxT(t), stream.Envelope{Payload: []byte("p3"), Headers: stream.Headers{stream.HeaderPartition: "3", "x-order": "7"}}))
	must(t, p.Send(ctxT(t), msg("none", -1)))
	must(t, p.Send(ctxT(t), msg("panic", -1)))
	after := time.Now().UnixMilli()

	m := dead.next(t)
	h := m.Headers
	if string(m.Payload) != "p3" || h["x-order"] != "7" {
		t.Errorf("dead letter %q with headers %v lost its payload or headers", m.Payload, h)
	}
	if h[stream.HeaderOriginalTopic] != "pay" || h[stream.HeaderOriginalPartition] != "3" {
		t.Errorf("x-original-topic %q, x-original-partition %q", h[stream.HeaderOriginalTopic], h[stream.HeaderOriginalPartition])
	}
	if ts, err := strconv.ParseInt(h[stream.HeaderOriginalTimestamp], 10, 64); err != nil || ts < before || ts > after {
		t.Errorf("x-original-timestamp %q not in [%d, %d]", h[stream.HeaderOriginalTimestamp], before, after)
	}
	if h[stream.HeaderExceptionMessage] != "card declined" || h[stream.HeaderExceptionFQCN] != "*errors.errorString" {
		t.Errorf("exception headers: %v", h)
	}
	if m := dead.next(t); m.Headers[stream.HeaderOriginalPartition] != "0" {
		t.Errorf("message without partition: x-original-partition %q, want 0", m.Headers[stream.HeaderOriginalPartition])
	}
	if m := dead.next(t); !strings.Contains(m.Headers[stream.HeaderExceptionMessage], "boom") {
		t.Errorf("panicking handler: x-exception-message %q", m.Headers[stream.HeaderExceptionMessage])
	}
}

// TestDeadLetterFailureNaks: when the dead letter cannot be stored (the
// DLQ is full and Stop runs out of time), the message goes back to its
// queue instead of being lost.
func TestDeadLetterFailureNaks(t *testing.T) {
	br := newBroker(t, memory.Config{BufferSize: 1})
	bd := newBinder(t, br, nil)
	dlq := stream.DLQName("in", "g")
	dead := newInbox()
	reader := consumer(t, bd, stream.ConsumerSpec{Destination: dlq, Group: "reader", Handler: dead.handler}) // not started: holds 1
	handled := make(chan string, 4)
	var fail atomic.Bool
	fail.Store(true)
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "in", Group: "g", Consumer: stream.ConsumerConfig{DLQ: true},
		Handler: func(_ context.Context, m stream.Envelope) error {
			handled <- string(m.Payload)
			if fail.Load() {
				return errors.New("bad")
			}
			return nil
		}})
	p := producer(t, bd, stream.ProducerSpec{Destination: "in"})
	must(t, p.Send(ctxT(t), msg("first", -1)))
	must(t, c.Start(ctxT(t)))
	if got := <-handled; got != "first" {
		t.Fatalf("handled %q", got)
	}
	must(t, p.Send(ctxT(t), msg("second", -1)))
	if got := <-handled; got != "second" {
		t.Fatalf("handled %q", got)
	}
	// "first" fills the DLQ queue; dead-lettering "second" now blocks.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Stop(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a blocked dead-letter: %v, want a deadline error", err)
	}
	must(t, c.Stop(ctxT(t))) // waits for the interrupted run to finish
	if d, _ := br.Depth("in", "g"); d != 1 {
		t.Fatalf("depth of the group after the failed dead-letter: %d, want 1", d)
	}
	if d, _ := br.Depth(dlq, "reader"); d != 1 {
		t.Fatalf("depth of the DLQ: %d, want 1", d)
	}
	must(t, reader.Start(ctxT(t)))
	dead.expect(t, "first")
	fail.Store(false)
	must(t, c.Start(ctxT(t)))
	if got := <-handled; got != "second" {
		t.Fatalf("redelivered %q, want second", got)
	}
}

// TestStopTimeoutRedelivers: a handler still running when Stop's context
// ends gets its context cancelled, and its message is redelivered.
func TestStopTimeoutRedelivers(t *testing.T) {
	br := newBroker(t, memory.Config{})
	bd := newBinder(t, br, nil)
	entered := make(chan struct{}, 1)
	var block atomic.Bool
	block.Store(true)
	in := newInbox()
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "slow", Group: "g", Handler: func(ctx context.Context, m stream.Envelope) error {
		if block.Load() {
			entered <- struct{}{}
			<-ctx.Done()
			return ctx.Err() // not ErrNak: still redelivered, since the binder interrupted it
		}
		return in.handler(ctx, m)
	}})
	must(t, c.Start(ctxT(t)))
	p := producer(t, bd, stream.ProducerSpec{Destination: "slow"})
	must(t, p.Send(ctxT(t), msg("m", -1)))
	<-entered
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Stop(short); err == nil {
		t.Fatal("Stop returned nil while a handler was blocked")
	}
	block.Store(false)
	must(t, c.Start(ctxT(t))) // waits for the interrupted run
	in.expect(t, "m")
}

func TestBatchMode(t *testing.T) {
	br := newBroker(t, memory.Config{RedeliveryDelay: time.Millisecond})
	bd := newBinder(t, br, map[string]any{"batch-size": 4})
	batches := make(chan []string, 16)
	var nakOnce, termOnce atomic.Bool
	dead := newInbox()
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: stream.DLQName("batch", "g"), Group: "r", Handler: dead.handler}).Start(ctxT(t)))
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "batch", Group: "g", Consumer: stream.ConsumerConfig{BatchMode: true, DLQ: true},
		BatchHandler: func(_ context.Context, ms []stream.Envelope) error {
			var ids []string
			for _, m := range ms {
				ids = append(ids, string(m.Payload))
			}
			batches <- ids
			switch {
			case ids[0] == "0" && !nakOnce.Swap(true):
				return stream.ErrNak
			case ids[0] == "8" && !termOnce.Swap(true):
				return errors.New("bad batch")
			}
			return nil
		}})
	p := producer(t, bd, stream.ProducerSpec{Destination: "batch"})
	for i := range 10 {
		must(t, p.Send(ctxT(t), msg(strconv.Itoa(i), -1)))
	}
	must(t, c.Start(ctxT(t)))
	var got []string
	for range 4 {
		select {
		case b := <-batches:
			got = append(got, strings.Join(b, " "))
		case <-time.After(wait):
			t.Fatalf("batches so far: %q", got)
		}
	}
	if want := []string{"0 1 2 3", "0 1 2 3", "4 5 6 7", "8 9"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("batches %q, want %q", got, want)
	}
	dead.expect(t, "8", "9")
}

func TestClose(t *testing.T) {
	br := newBroker(t, memory.Config{BufferSize: 1})
	bd1 := newBinder(t, br, nil)
	bd2 := newBinder(t, br, nil)
	ctx := ctxT(t)

	p := producer(t, bd1, stream.ProducerSpec{Destination: "d"})
	must(t, p.Close(ctx))
	if err := p.Send(ctx, msg("x", -1)); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Send after producer Close: %v", err)
	}

	c1 := consumer(t, bd1, stream.ConsumerSpec{Destination: "d", Group: "g1", Handler: newInbox().handler})
	in2 := newInbox()
	c2 := consumer(t, bd2, stream.ConsumerSpec{Destination: "d", Group: "g2", Handler: in2.handler})
	must(t, c2.Start(ctx))
	must(t, bd1.Close(ctx))
	if err := c1.Start(ctx); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Start after binder Close: %v", err)
	}
	if _, err := bd1.BindProducer(ctx, stream.ProducerSpec{Binding: "b", Destination: "d"}); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("BindProducer after binder Close: %v", err)
	}
	p2 := producer(t, bd2, stream.ProducerSpec{Destination: "d"})
	must(t, p2.Send(ctx, msg("still", -1))) // the other binder is unaffected
	in2.expect(t, "still")

	// g1 persists with no consumer and is now full (capacity 1): the next
	// send blocks, and Broker.Close releases it.
	blocked := make(chan error, 1)
	go func() { blocked <- p2.Send(ctx, msg("blocked", -1)) }()
	must(t, br.Close(ctx))
	select {
	case err := <-blocked:
		if !errors.Is(err, stream.ErrClosed) {
			t.Errorf("blocked Send at broker Close: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Send stayed blocked after Broker.Close")
	}
	if err := p2.Send(ctx, msg("after", -1)); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("Send after Broker.Close: %v", err)
	}
	if _, err := memory.Factory(br)(ctx, stream.BinderSettings{}); !errors.Is(err, stream.ErrClosed) {
		t.Errorf("new binder on a closed broker: %v", err)
	}
}

// TestNewPrivateBroker: New gives each binder its own broker, closed with it.
func TestNewPrivateBroker(t *testing.T) {
	ctx := ctxT(t)
	b1, err := memory.New(ctx, stream.BinderSettings{Name: "memory"})
	must(t, err)
	b2, err := memory.New(ctx, stream.BinderSettings{Name: "memory"})
	must(t, err)
	if b1.(*memory.Binder).Broker() == b2.(*memory.Binder).Broker() {
		t.Fatal("New shares a broker")
	}
	in := newInbox()
	c, err := b1.BindConsumer(ctx, stream.ConsumerSpec{Binding: "in", Destination: "d", Group: "g", Handler: in.handler})
	must(t, err)
	must(t, c.Start(ctx))
	p1, err := b1.BindProducer(ctx, stream.ProducerSpec{Binding: "out", Destination: "d"})
	must(t, err)
	p2, err := b2.BindProducer(ctx, stream.ProducerSpec{Binding: "out", Destination: "d"})
	must(t, err)
	must(t, p2.Send(ctx, msg("other-broker", -1)))
	must(t, p1.Send(ctx, msg("same-broker", -1)))
	in.expect(t, "same-broker")
	must(t, b1.Close(ctx))
	must(t, b2.Close(ctx))
	if _, ok := b1.(*memory.Binder).Broker().Depth("d", "g"); ok {
		t.Error("private broker still has its groups after the binder closed")
	}
}

// TestFanOutHeaders: each group gets its own headers map, so a handler
// that changes its message's headers does not affect another group.
func TestFanOutHeaders(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	mutated := make(chan struct{})
	c1 := consumer(t, bd, stream.ConsumerSpec{Destination: "fan", Group: "a", Handler: func(_ context.Context, m stream.Envelope) error {
		m.Headers["x"] = "changed by a"
		close(mutated)
		return nil
	}})
	in := newInbox()
	c2 := consumer(t, bd, stream.ConsumerSpec{Destination: "fan", Group: "b", Handler: in.handler})
	p := producer(t, bd, stream.ProducerSpec{Destination: "fan"})
	must(t, p.Send(ctxT(t), stream.Envelope{Payload: []byte("m"), Headers: stream.Headers{"x": "original"}}))
	must(t, c1.Start(ctxT(t)))
	<-mutated
	must(t, c2.Start(ctxT(t)))
	if got := in.next(t).Headers["x"]; got != "original" {
		t.Errorf("group b saw header x = %q", got)
	}
}

func TestMultipleDestinations(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	in := newInbox()
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: "a, b", Group: "g", Handler: in.handler}).Start(ctxT(t)))
	must(t, producer(t, bd, stream.ProducerSpec{Destination: "a"}).Send(ctxT(t), msg("from-a", -1)))
	in.expect(t, "from-a")
	must(t, producer(t, bd, stream.ProducerSpec{Destination: "b"}).Send(ctxT(t), msg("from-b", -1)))
	in.expect(t, "from-b")
}

func TestPauseWaitsForInFlight(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	entered, release := make(chan struct{}), make(chan struct{})
	var returned atomic.Bool
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "pw", Group: "g", Handler: func(context.Context, stream.Envelope) error {
		close(entered)
		<-release
		returned.Store(true)
		return nil
	}})
	must(t, c.Start(ctxT(t)))
	must(t, producer(t, bd, stream.ProducerSpec{Destination: "pw"}).Send(ctxT(t), msg("m", -1)))
	<-entered
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Pause(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Pause with a handler running: %v, want a deadline error", err)
	}
	close(release)
	must(t, c.Pause(ctxT(t)))
	if !returned.Load() {
		t.Fatal("Pause returned before the in-flight handler")
	}
	must(t, c.Resume(ctxT(t)))
}

// TestContentType: a message sent without a contentType header is received
// with the producer binding's content type in the header (whatever the
// consumer binding's), also on dead letters; an explicit header is kept.
func TestContentType(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	same, other, dead := newInbox(), newInbox(), newInbox()
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: "ct", Group: "same", ContentType: "text/plain", Handler: same.handler}).Start(ctxT(t)))
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: "ct", Group: "other", ContentType: jsonCT, Handler: other.handler}).Start(ctxT(t)))
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: stream.DLQName("ct", "failing"), Group: "r", ContentType: jsonCT, Handler: dead.handler}).Start(ctxT(t)))
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: "ct", Group: "failing", ContentType: "text/plain", Consumer: stream.ConsumerConfig{DLQ: true},
		Handler: func(context.Context, stream.Envelope) error { return errors.New("no") }}).Start(ctxT(t)))
	p := producer(t, bd, stream.ProducerSpec{Destination: "ct", ContentType: "text/plain"})
	must(t, p.Send(ctxT(t), stream.Envelope{Payload: []byte("hi")}))
	must(t, p.Send(ctxT(t), stream.Envelope{Payload: []byte("{}"), Headers: stream.Headers{stream.HeaderContentType: jsonCT}}))

	if m := same.next(t); m.Headers[stream.HeaderContentType] != "text/plain" {
		t.Errorf("same content type: headers %v, want contentType text/plain", m.Headers)
	}
	if m := same.next(t); m.ContentType("text/plain") != jsonCT {
		t.Errorf("explicit header lost: %v", m.Headers)
	}
	if m := other.next(t); m.Headers[stream.HeaderContentType] != "text/plain" {
		t.Errorf("other content type: headers %v, want contentType text/plain", m.Headers)
	}
	if m := other.next(t); m.Headers[stream.HeaderContentType] != jsonCT {
		t.Errorf("explicit header: %v", m.Headers)
	}
	if m := dead.next(t); m.Headers[stream.HeaderContentType] != "text/plain" {
		t.Errorf("dead letter: headers %v, want contentType text/plain", m.Headers)
	}
}

// TestDeadLetterDroppedCounted: a dead letter sent while no group is bound
// to the dead-letter destination is lost on the in-process broker; the
// consumer counts it in DeadLetterStats().Dropped (served as
// streambind_binding_dead_letters_dropped_total), and not one that a group
// received.
func TestDeadLetterDroppedCounted(t *testing.T) {
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	failed := make(chan struct{}, 2)
	c := consumer(t, bd, stream.ConsumerSpec{Destination: "drop", Group: "billing", Consumer: stream.ConsumerConfig{DLQ: true},
		Handler: func(context.Context, stream.Envelope) error {
			defer func() { failed <- struct{}{} }()
			return stream.Permanent(errors.New("card declined"))
		}})
	must(t, c.Start(ctxT(t)))
	p := producer(t, bd, stream.ProducerSpec{Destination: "drop"})
	dropped := func() int64 { return c.(stream.DeadLetterReporter).DeadLetterStats().Dropped }
	waitDropped := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for dropped() != want {
			if time.Now().After(deadline) {
				t.Fatalf("DeadLetterStats().Dropped = %d, want %d", dropped(), want)
			}
			runtime.Gosched()
		}
	}
	must(t, p.Send(ctxT(t), msg("lost", -1)))
	<-failed
	waitDropped(1)

	dead := newInbox()
	must(t, consumer(t, bd, stream.ConsumerSpec{Destination: stream.DLQName("drop", "billing"), Group: "dlq", Handler: dead.handler}).Start(ctxT(t)))
	must(t, p.Send(ctxT(t), msg("kept", -1)))
	<-failed
	if m := dead.next(t); string(m.Payload) != "kept" {
		t.Fatalf("dead letter %q", m.Payload)
	}
	if n := dropped(); n != 1 {
		t.Fatalf("DeadLetterStats().Dropped = %d after a kept dead letter, want 1", n)
	}
}

// TestLogAttrsOnce: the binding's logger (the core's, with binding,
// destination and group) is used as is; the binder's lines add only their
// own attributes, so that none appears twice.
func TestLogAttrsOnce(t *testing.T) {
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil)).With("binding", "pay-in-0", "destination", "logattrs", "group", "billing")
	bd := newBinder(t, newBroker(t, memory.Config{}), nil)
	failed := make(chan struct{}, 1)
	c := consumer(t, bd, stream.ConsumerSpec{Binding: "pay-in-0", Destination: "logattrs", Group: "billing", Consumer: stream.ConsumerConfig{DLQ: true}, Logger: log,
		Handler: func(context.Context, stream.Envelope) error {
			defer func() { failed <- struct{}{} }()
			return stream.Permanent(errors.New("card declined"))
		}})
	must(t, c.Start(ctxT(t)))
	must(t, producer(t, bd, stream.ProducerSpec{Destination: "logattrs"}).Send(ctxT(t), msg("x", -1)))
	<-failed
	deadline := time.Now().Add(5 * time.Second)
	for c.(stream.DeadLetterReporter).DeadLetterStats().Dropped != 1 {
		if time.Now().After(deadline) {
			t.Fatal("no dead letter dropped")
		}
		runtime.Gosched()
	}
	line := buf.String()
	if !strings.Contains(line, "dead letter dropped") {
		t.Fatalf("no WARN line: %q", line)
	}
	for _, a := range []string{"destination=", "group=", "binding="} {
		if n := strings.Count(line, " "+a); n != 1 {
			t.Errorf("%s appears %d times in %q", a, n, line)
		}
	}
}

// TestCloseReleasesBlockedSendsAsClosed: every Send blocked on a full queue
// when Broker.Close runs returns ErrClosed, never nil. Close closes the
// broker's done channel and then shuts the groups (closing their changed
// channels and emptying their queues); a sender woken by changed went round
// again, found room in the emptied queue of a shut group, stored nothing and
// returned nil: a message reported sent that no queue held (a CI run of
// 337226a, TestClose).
func TestCloseReleasesBlockedSendsAsClosed(t *testing.T) {
	const rounds, senders = 30, 20
	for r := range rounds {
		br := newBroker(t, memory.Config{BufferSize: 1})
		bd := newBinder(t, br, nil)
		ctx := ctxT(t)
		// A bound, unstarted consumer: its durable group holds messages
		// that nobody takes.
		consumer(t, bd, stream.ConsumerSpec{Destination: "d", Group: "g", Handler: newInbox().handler})
		p := producer(t, bd, stream.ProducerSpec{Destination: "d"})
		must(t, p.Send(ctx, msg("fill", -1)))
		results := make(chan error, senders)
		for i := range senders {
			go func() { results <- p.Send(ctx, msg(strconv.Itoa(i), -1)) }()
		}
		// Senders that have not reached the wait when Close runs return
		// ErrClosed as well; those that have are the case under test.
		runtime.Gosched()
		must(t, br.Close(ctx))
		for range senders {
			select {
			case err := <-results:
				if !errors.Is(err, stream.ErrClosed) {
					t.Fatalf("round %d: a Send blocked at Broker.Close returned %v, want ErrClosed", r, err)
				}
			case <-time.After(wait):
				t.Fatalf("round %d: a Send stayed blocked after Broker.Close", r)
			}
		}
	}
}
