package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// dlqService: work dead-letters what it cannot handle (its reason is in
// the payload) and takes a replayed copy (x-streambind-replay-count set);
// audit, never started, reads work's dead letters (in process its group
// is what keeps them).
const dlqService = `stream:
  function:
    definition: work;audit
  output-bindings: in
%s
  bindings:
    in:
      destination: work
    work-in-0:
      destination: work
      group: g
      consumer:
        dlq: true
        max-attempts: 1
    audit-in-0:
      group: audit
      consumer:
        dead-letters-of: work-in-0
        auto-startup: false
`

const rabbitBinder = `  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
      environment:
        addresses: ${RABBIT_ADDRESSES:127.0.0.1:5672}
        virtual-host: ${VHOST}`

type job struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// dlqApp runs dlqService from dir; back gets the replayed copies.
type dlqApp struct {
	app  *stream.App
	back chan stream.Message[job]
	// failed counts the handler's failures (each dead-letters its
	// message: max-attempts 1).
	failed atomic.Int64
	// stop stops the app (gracefully: what its consumers took is
	// handled and acknowledged).
	stop func()
}

func startDLQApp(t *testing.T, dir string, env []string, opts ...stream.Option) *dlqApp {
	t.Helper()
	loaded, err := config.Load(config.Options{Dir: dir, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	a := &dlqApp{back: make(chan stream.Message[job], 2000)}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, m stream.Message[job]) error {
		// A replayed copy succeeds, unless it says to fail again (as a
		// message that keeps failing does).
		if stream.ReplayCount(m.Headers) > 0 && m.Headers["fail-again"] == "" {
			a.back <- m
			return nil
		}
		a.failed.Add(1)
		return errors.New(m.Payload.Reason)
	})
	stream.AddConsumer(fns, "audit", func(context.Context, []byte) error { return nil })
	opts = append([]stream.Option{stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)),
		stream.WithBinderType(rabbit.Type, rabbit.New)}, opts...)
	app, err := stream.NewApp(loaded.Stream, fns, opts...)
	if err != nil {
		t.Fatal(err)
	}
	a.app = app
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	var once sync.Once
	a.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("app: %v", err)
			}
		})
	}
	t.Cleanup(a.stop)
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("app ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("app not ready")
	}
	return a
}

func (a *dlqApp) send(t *testing.T, customer string, jobs ...job) {
	t.Helper()
	for _, j := range jobs {
		if err := a.app.Bridge().Send(context.Background(), "in", stream.Message[job]{Payload: j, Headers: stream.Headers{"customer": customer}}); err != nil {
			t.Fatal(err)
		}
	}
}

// sendPoison sends n jobs that fail ("poison", ids 0 to n-1) as customer
// c, from several goroutines: the tests that send many do not depend on
// their order, and one at a time the round trips to the broker took most
// of their time when the machine was busy.
func (a *dlqApp) sendPoison(t *testing.T, n int) {
	t.Helper()
	const senders = 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for w := range senders {
		wg.Go(func() {
			for i := w; i < n; i += senders {
				m := stream.Message[job]{Payload: job{fmt.Sprint(i), "poison"}, Headers: stream.Headers{"customer": "c"}}
				if err := a.app.Bridge().Send(context.Background(), "in", m); err != nil {
					mu.Lock()
					first = cmp.Or(first, fmt.Errorf("send %d: %w", i, err))
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

// waitDeadLettered waits until the app failed n messages (up to 2
// minutes: thousands take long when the machine is busy), then until
// depth says n. Not depth all along: on NATS it is a dlq ls that reads
// every dead letter, and polled back to back while the app dead-letters
// hundreds it took much of the machine.
func (a *dlqApp) waitDeadLettered(t *testing.T, n int, depth func() int) {
	t.Helper()
	eventuallyWithin(t, 2*time.Minute, fmt.Sprintf("the app to fail %d messages", n), func() bool { return a.failed.Load() >= int64(n) })
	eventually(t, fmt.Sprint(n, " dead letters"), func() bool { return depth() == n })
}

// eventually waits, up to 30s, for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 30*time.Second, what, cond)
}

// eventuallyWithin waits, up to d, for cond.
func eventuallyWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exerciseDLQ runs ls, show, replay and purge against six dead letters of
// work-in-0; depth tells how many there are.
func exerciseDLQ(t *testing.T, dir string, e func() *runEnv, a *dlqApp, depth func() int) {
	a.send(t, "c-1", job{"1", "card declined"}, job{"4", "no stock"})
	a.send(t, "c-2", job{"2", "card declined"}, job{"3", "card declined"}, job{"5", "no stock"}, job{"6", "card declined"})
	eventually(t, "6 dead letters", func() bool { return depth() == 6 })

	dlq := func(stdin string, args ...string) result {
		t.Helper()
		env := e()
		env.dir = dir
		env.stdin = strings.NewReader(stdin)
		return runWith(t, env, append([]string{"dlq"}, args...)...)
	}
	ls := dlq("", "ls", "--binding", "work-in-0")
	if ls.code != exitOK {
		t.Fatalf("ls: exit %d, stderr %q", ls.code, ls.stderr)
	}
	// Every binder tells when each was dead-lettered.
	const ts = `20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ`
	if !regexp.MustCompile(`(?s)^6 dead letters of work-in-0 in .*\nCOUNT +FIRST +LAST +EXCEPTION\n4 +` + ts + ` +` + ts + ` +card declined\n2 +` + ts + ` +` + ts + ` +no stock\n$`).MatchString(ls.stdout) {
		t.Errorf("ls output:\n%s", ls.stdout)
	}
	// ls took nothing and kept the order; a reader binding names them too.
	js := dlq("", "ls", "--binding", "audit-in-0", "--format", "json")
	var got struct{ Total int }
	if err := json.Unmarshal([]byte(js.stdout), &got); err != nil || got.Total != 6 {
		t.Errorf("ls --format json: %v, %q", err, js.stdout)
	}
	for i, id := range []string{"1", "4", "2", "3", "5", "6"} {
		s := dlq("", "show", fmt.Sprint(i+1), "--binding", "work-in-0")
		if s.code != exitOK || !strings.Contains(s.stdout, "payload (") || !strings.Contains(s.stdout, fmt.Sprintf("{\n  \"id\": %q,", id)) {
			t.Fatalf("show %d: exit %d, stdout %q, stderr %q; want order %s", i+1, s.code, s.stdout, s.stderr, id)
		}
	}
	s := dlq("", "show", "2", "--binding", "work-in-0")
	// Binary header values (Kafka's big-endian x-original-*) print as text.
	if binaryHeaderValue(s.stdout) {
		t.Errorf("show 2 prints bytes that are not text: %q", s.stdout)
	}
	if strings.Contains(s.stdout, stream.HeaderOriginalOffset) &&
		!regexp.MustCompile(`\n  x-original-offset: \d+\n  x-original-partition: 0\n  x-original-timestamp: \d+ \(20`).MatchString(s.stdout) {
		t.Errorf("show 2: x-original-* not as numbers:\n%s", s.stdout)
	}
	for _, want := range []string{"customer: c-1", stream.HeaderExceptionMessage + ": no stock", stream.HeaderExceptionStacktrace + ": "} {
		if !strings.Contains(s.stdout, want) {
			t.Errorf("show 2 lacks %q:\n%s", want, s.stdout)
		}
	}
	if r := dlq("", "show", "7", "--binding", "work-in-0"); r.code != exitFailure || !strings.Contains(r.stderr, "no dead letter 7") {
		t.Errorf("show 7: exit %d, stderr %q", r.code, r.stderr)
	}

	// Replay with filters: only job 4.
	r := dlq("", "replay", "--binding", "work-in-0", "--exception", "stock", "--header", "customer=c-1")
	if r.code != exitOK || !strings.Contains(r.stdout, "replayed 1 dead letter of work-in-0; 5 did not match") {
		t.Fatalf("replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// The copy went to the destination, which every group reads: said
	// once, on stderr (replayAudienceNotice); on NATS and Redis it is for
	// the binding's group only, which the note says instead.
	if strings.Count(r.stderr, "every consumer group of it receives")+strings.Count(r.stderr, "for group g only") != 1 {
		t.Errorf("replay: stderr %q; want one note of who receives the copies", r.stderr)
	}
	select {
	case m := <-a.back:
		if m.Payload.ID != "4" || m.Headers[stream.HeaderReplayCount] != "1" || m.Headers[stream.HeaderExceptionMessage] != "" {
			t.Errorf("replayed %+v", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the replayed copy did not arrive")
	}
	if n := depth(); n != 5 {
		t.Errorf("after replay: %d dead letters, want 5", n)
	}
	if r := dlq("", "replay", "--binding", "work-in-0", "--dry-run"); r.code != exitOK || strings.Count(r.stdout, "would replay ") != 6 || depth() != 5 {
		t.Errorf("dry run: exit %d, stdout %q, depth %d", r.code, r.stdout, depth())
	}
	// The time filters work on the times the binder tells.
	if r := dlq("", "replay", "--binding", "work-in-0", "--dry-run", "--since", "1h"); r.code != exitOK || strings.Count(r.stdout, "would replay ") != 6 || strings.Contains(r.stdout, "no time") {
		t.Errorf("dry run --since 1h: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := dlq("", "replay", "--binding", "work-in-0", "--dry-run", "--until", "1h"); r.code != exitOK || !strings.Contains(r.stdout, "would replay 0 dead letters of work-in-0; 5 did not match the filters; 0 skipped: replayed 3 times or more already (--max-replays)") {
		t.Errorf("dry run --until 1h: exit %d, stdout %q", r.code, r.stdout)
	}

	// Purge asks first; "n" is the user's choice, not a failure.
	if r := dlq("n\n", "purge", "--binding", "work-in-0", "--exception", "declined"); r.code != exitOK || !strings.Contains(r.stderr, "purge 4 dead letters") ||
		r.stdout != "nothing purged\n" || depth() != 5 {
		t.Errorf("purge answered n: exit %d, stdout %q, stderr %q, depth %d", r.code, r.stdout, r.stderr, depth())
	}
	// No answer at all (stdin ended): a script that forgot --yes; it
	// printed "nothing purged" and exited 0, which looked like success.
	// Exit status 2, saying to pass --yes, without the usage hint ("Run
	// 'streambind dlq purge --help' for usage."): the flags were right.
	if r := dlq("", "purge", "--binding", "work-in-0", "--exception", "declined"); r.code != exitUsage || r.stdout != "" ||
		!strings.HasSuffix(r.stderr, "? [y/N] \nstreambind: nothing purged: no answer on stdin (it ended before a line); to purge without the question, run it again with --yes\n") || depth() != 5 {
		t.Errorf("purge without an answer: exit %d, stdout %q, stderr %q, depth %d", r.code, r.stdout, r.stderr, depth())
	}
	if r := dlq("", "purge", "--binding", "work-in-0", "--exception", "declined", "--yes"); r.code != exitOK || !strings.Contains(r.stdout, "purged 4 dead letters") {
		t.Errorf("purge --yes: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if n := depth(); n != 1 {
		t.Errorf("after purge: %d dead letters, want 1", n)
	}
	// A dead letter replayed --max-replays times already stays.
	if err := a.app.Bridge().Send(context.Background(), "in", stream.Message[job]{Payload: job{"7", "card declined"},
		Headers: stream.Headers{"customer": "c-3", stream.HeaderReplayCount: "1", "fail-again": "yes"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "2 dead letters", func() bool { return depth() == 2 })
	if r := dlq("", "replay", "--binding", "work-in-0", "--max-replays", "1", "--header", "customer=c-3"); r.code != exitOK ||
		!strings.Contains(r.stderr, "replayed 1 time already (--max-replays 1)") || !strings.Contains(r.stdout, "1 skipped: replayed 1 time or more already (--max-replays)") || depth() != 2 {
		t.Errorf("max-replays: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := dlq("", "show", "1", "--binding", "work-in-0"); !strings.Contains(r.stdout, `"id": "5"`) {
		t.Errorf("the dead letter left: %q", r.stdout)
	}
}

func TestDLQInProcess(t *testing.T) {
	t.Parallel()
	broker, err := memory.NewBroker(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close(context.Background()) })
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, "  default-binder: memory")})
	a := startDLQApp(t, dir, []string{}, stream.WithBinderType(memory.Type, memory.Factory(broker)))
	factories := map[string]stream.BinderFactory{memory.Type: memory.Factory(broker)}
	depth := func() int { n, _ := broker.Depth(stream.DLQName("work", "g"), "audit"); return n }
	exerciseDLQ(t, dir, func() *runEnv { return &runEnv{binders: factories} }, a, depth)
}

func TestDLQRabbit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	depth := queueDepth(t, vhost, "work.g.dlq")
	exerciseDLQ(t, dir, func() *runEnv { return &runEnv{env: env} }, a, depth)
}

// On RabbitMQ a dead letter the broker dead-lettered itself
// (republish-to-dlq: false) has its time in x-death; one without any time
// (published to the DLQ by another tool) is counted, not silently left out,
// when a time filter is given.
func TestDLQRabbitTimes(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	yaml := fmt.Sprintf(dlqService, rabbitBinder) + `  rabbit:
    bindings:
      work-in-0:
        consumer:
          republish-to-dlq: false
`
	dir := writeFiles(t, map[string]string{"application.yaml": yaml})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	depth := queueDepth(t, vhost, "work.g.dlq")
	a.send(t, "c-1", job{"1", "card declined"})
	eventually(t, "1 dead letter", func() bool { return depth() == 1 })

	dlq := func(args ...string) result {
		t.Helper()
		return runWith(t, &runEnv{env: env, dir: dir, stdin: strings.NewReader("")}, append([]string{"dlq"}, args...)...)
	}
	const ts = `20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ`
	if r := dlq("show", "1", "--binding", "work-in-0"); !regexp.MustCompile(`\ntime: ` + ts + `\n`).MatchString(r.stdout) {
		t.Errorf("show: exit %d, stdout %q, stderr %q; want its x-death time", r.code, r.stdout, r.stderr)
	}

	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Publish("", "work.g.dlq", true, false, amqp.Publishing{Body: []byte(`{"id":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "2 dead letters", func() bool { return depth() == 2 })

	// The broker's own dead letters have no x-exception-* headers.
	if r := dlq("ls", "--binding", "work-in-0"); r.code != exitOK || !regexp.MustCompile(`\n2 +`+ts+` +`+ts+` +\(none\)\n`).MatchString(r.stdout) {
		t.Errorf("ls: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := dlq("replay", "--binding", "work-in-0", "--dry-run", "--since", "1h"); r.code != exitOK ||
		!strings.Contains(r.stdout, "would replay 1 dead letter of work-in-0; 1 did not match the filters; 1 has no time and was not matched by --since; 0 skipped: replayed") {
		t.Errorf("replay --since: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := dlq("purge", "--binding", "work-in-0", "--until", "1h", "--yes"); r.code != exitOK ||
		r.stdout != "purged 0 dead letters of work-in-0; 1 has no time and was not matched by --until\n" || depth() != 2 {
		t.Errorf("purge --until: exit %d, stdout %q, stderr %q, depth %d", r.code, r.stdout, r.stderr, depth())
	}

	// A consumer of the DLQ queue (as a dead-letter reader is) competes
	// with the tool: ls says so.
	if err := ch.Qos(1, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume("work.g.dlq", "reader", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if r := dlq("ls", "--binding", "work-in-0"); r.code != exitOK || !strings.Contains(r.stderr, "note: 1 consumer is attached to work.g.dlq (on DLX)") {
		t.Errorf("ls with a consumer: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

const kafkaBinder = `  default-binder: kafka
  binders:
    kafka:
      type: kafka
      environment:
        brokers: ${KAFKA_BROKERS}
  kafka:
    binder:
      auto-create-topics: true`

func TestDLQKafka(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, kafkaBinder)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	a := startDLQApp(t, dir, env, stream.WithBinderType(kafka.Type, kafka.New))
	exerciseDLQ(t, dir, func() *runEnv { return &runEnv{env: env} }, a, lsDepth(t, dir, env))

	// tail keeps every byte of the binary headers: base64, with the number.
	r := runWith(t, &runEnv{dir: dir, env: env}, "tail", "--destination", "error.work.g", "--from-beginning", "--count", "1", "--timeout", "20s")
	var got struct {
		Headers map[string]json.RawMessage
	}
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &got) != nil {
		t.Fatalf("tail: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	var off struct {
		B64   string
		Value *int64
	}
	if err := json.Unmarshal(got.Headers[stream.HeaderOriginalOffset], &off); err != nil || off.Value == nil {
		t.Fatalf("tail: x-original-offset %s (%v)", got.Headers[stream.HeaderOriginalOffset], err)
	}
	if b, err := base64.StdEncoding.DecodeString(off.B64); err != nil || len(b) != 8 || int64(binary.BigEndian.Uint64(b)) != *off.Value {
		t.Errorf("tail: x-original-offset %+v does not round-trip (%v)", off, err)
	}
}

// lsDepth counts the dead letters of work-in-0 as dlq ls does (on Kafka:
// those the group streambind-dlq has not removed, the records of
// error.work.g from its committed offset on, less those listed in its
// metadata; on NATS the messages of the dead-letter subject).
func lsDepth(t *testing.T, dir string, env []string) func() int {
	return func() int {
		r := runWith(t, &runEnv{dir: dir, env: env}, "dlq", "ls", "--binding", "work-in-0", "--format", "json")
		var got struct{ Total int }
		if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &got) != nil {
			t.Logf("dlq ls: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			return -1
		}
		return got.Total
	}
}

// natsService is dlqService on the shared NATS server, with destinations
// of the test's own (their streams deleted at the end).
func natsService(t *testing.T) (dir string, env []string, opt stream.Option) {
	natstest.Require(t)
	dest := "dlqtest-" + uuid.NewString()[:8] + ".work"
	natstest.DeleteStreams(t, natstest.URL(), func() []string {
		return []string{nats.StreamName(dest), nats.StreamName(stream.DLQName(dest, "g"))}
	})
	// Claims in a bucket of the test's own, not the shared server's
	// streambind-dlq-claims.
	bucket := natsClaimBucket(dest)
	natstest.DeleteKeyValueBuckets(t, natstest.URL(), bucket)
	yaml := strings.ReplaceAll(fmt.Sprintf(dlqService, `  default-binder: nats
  binders:
    nats:
      type: nats
      environment:
        servers: ${NATS_URL}
        dlq-claim-bucket: `+bucket), "destination: work", "destination: "+dest)
	dir = writeFiles(t, map[string]string{"application.yaml": yaml})
	return dir, []string{"NATS_URL=" + natstest.URL()}, stream.WithBinderType(nats.Type, nats.New)
}

// natsClaimBucket is the dlq-claim-bucket of the natsService of
// destination dest (dlqtest-<id>.work).
func natsClaimBucket(dest string) string {
	return "sbtest-claims-" + strings.TrimSuffix(strings.TrimPrefix(dest, "dlqtest-"), ".work")
}

// redisService is dlqService on the shared Redis server, under a key
// prefix of the test's own; depth counts the dead-letter stream's entries.
func redisService(t *testing.T) (dir string, env []string, opt stream.Option, depth func() int) {
	redistest.Require(t)
	prefix := redistest.Prefix(t)
	dir = writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, `  default-binder: redis
  binders:
    redis:
      type: redis
      environment:
        address: ${REDIS_ADDR}
        key-prefix: ${PREFIX}`)})
	rc := redistest.Client(t, redistest.Addr(), "", "")
	depth = func() int {
		n, err := rc.XLen(context.Background(), prefix+stream.DLQName("work", "g")).Result()
		if err != nil {
			return -1
		}
		return int(n)
	}
	return dir, []string{"REDIS_ADDR=" + redistest.Addr(), "PREFIX=" + prefix}, stream.WithBinderType(redis.Type, redis.New), depth
}

func TestDLQNATS(t *testing.T) {
	t.Parallel()
	dir, env, opt := natsService(t)
	a := startDLQApp(t, dir, env, opt)
	exerciseDLQ(t, dir, func() *runEnv { return &runEnv{env: env} }, a, lsDepth(t, dir, env))

}

func TestDLQRedis(t *testing.T) {
	t.Parallel()
	dir, env, opt, depth := redisService(t)
	a := startDLQApp(t, dir, env, opt)
	exerciseDLQ(t, dir, func() *runEnv { return &runEnv{env: env} }, a, depth)
}

func TestDLQErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, "  default-binder: memory"),
		"bad/application.yaml": fmt.Sprintf(dlqService, "  default-binder: nosuch")})
	for _, tc := range []struct {
		args []string
		code int
		text string
	}{
		{[]string{"dlq", "ls"}, exitUsage, "say whose dead letters: --binding NAME"},
		{[]string{"dlq", "ls", "--binding", "nope"}, exitUsage, `no consumer binding "nope" (consumer bindings: audit-in-0, work-in-0)`},
		{[]string{"dlq", "ls", "--binding", "work-in-0"}, exitFailure, "the in-process binder (memory) lives inside one app's process"},
		{[]string{"dlq", "replay", "--binding", "work-in-0", "--since", "yesterday"}, exitUsage, "--since: want an RFC 3339 time"},
		{[]string{"dlq", "replay", "--binding", "work-in-0", "--header", "x"}, exitUsage, `--header: want k=v, got "x"`},
		{[]string{"dlq", "show", "0", "--binding", "work-in-0"}, exitUsage, "N: want a position from 1"},
		{[]string{"dlq", "ls", "--config", "bad", "--binding", "work-in-0"}, exitFailure, "the configuration has errors (streambind lint shows them)"},
		{[]string{"dlq"}, exitUsage, "Usage:"},
		// PATH, as lint and config take it, is --config.
		{[]string{"dlq", "."}, exitUsage, "dlq .: the subcommand comes first (ls, show, replay, purge): streambind dlq ls . --binding NAME"},
		{[]string{"dlq", "lss"}, exitUsage, `unknown subcommand "lss"`},
		{[]string{"dlq", "ls", ".", "--binding", "work-in-0"}, exitFailure, "the in-process binder (memory) lives inside one app's process"},
		{[]string{"dlq", "ls", "bad", "--binding", "work-in-0"}, exitFailure, "the configuration has errors (streambind lint shows them)"},
		{[]string{"dlq", "purge", "bad", "--binding", "work-in-0", "--yes"}, exitFailure, "the configuration has errors (streambind lint shows them)"},
		{[]string{"dlq", "replay", "bad", "--binding", "work-in-0"}, exitFailure, "the configuration has errors (streambind lint shows them)"},
		{[]string{"dlq", "show", "bad", "--binding", "work-in-0"}, exitFailure, "the configuration has errors (streambind lint shows them)"},
		{[]string{"dlq", "show", "2", "bad", "--binding", "work-in-0"}, exitFailure, "the configuration has errors (streambind lint shows them)"},
		{[]string{"dlq", "ls", "bad", "--config", ".", "--binding", "work-in-0"}, exitUsage, `give the configuration as PATH or as --config, not both (PATH "bad", --config ".")`},
		{[]string{"dlq", "replay", "--help"}, exitOK, "streambind dlq replay --profile rabbit"},
		{[]string{"dlq", "ls", "--help"}, exitOK, "streambind dlq ls --profile rabbit"},
		{[]string{"dlq", "show", "--help"}, exitOK, "streambind dlq show"},
		{[]string{"dlq", "purge", "--help"}, exitOK, "streambind dlq purge"},
	} {
		r := runIn(t, dir, nil, tc.args...)
		text := r.stderr
		if tc.code == exitOK {
			text = r.stdout
		}
		if r.code != tc.code || !strings.Contains(text, tc.text) {
			t.Errorf("%v: exit status %d, output %q; want %d and %q", tc.args, r.code, text, tc.code, tc.text)
		}
	}
}

// queueDepth returns a function that counts the messages of queue q in
// vhost (ready, not those delivered and unacknowledged).
func queueDepth(t *testing.T, vhost, q string) func() int {
	t.Helper()
	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return func() int {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil {
			return -1
		}
		return st.Messages
	}
}

// A replay of 500 dead letters killed (SIGKILL) part-way, then run again:
// every dead letter arrives, none is lost, and none arrives twice except
// within the in-flight window (the dead letter whose copy was confirmed but
// whose removal had not reached the broker: at most 2, as the removal is an
// unconfirmed acknowledgement on another connection than the publish).
func TestDLQReplayKilledRabbit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	replayKilled(t, dir, env, a, queueDepth(t, vhost, "work.g.dlq"))
	if d := queueDepth(t, vhost, "work.g")(); d != 0 {
		t.Errorf("%d replayed copies not handled", d)
	}
}

// The same on Kafka (kfake, reached by the CLI's process over TCP).
func TestDLQReplayKilledKafka(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, kafkaBinder)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	a := startDLQApp(t, dir, env, stream.WithBinderType(kafka.Type, kafka.New))
	replayKilled(t, dir, env, a, lsDepth(t, dir, env))
}

func TestDLQReplayKilledNATS(t *testing.T) {
	t.Parallel()
	dir, env, opt := natsService(t)
	a := startDLQApp(t, dir, env, opt)
	replayKilled(t, dir, env, a, lsDepth(t, dir, env))
}

func TestDLQReplayKilledRedis(t *testing.T) {
	t.Parallel()
	dir, env, opt, depth := redisService(t)
	a := startDLQApp(t, dir, env, opt)
	replayKilled(t, dir, env, a, depth)
}

// replayKilled dead-letters 500 messages of a's work-in-0 and replays
// them with the CLI in a process of its own, killed part-way, then again.
func replayKilled(t *testing.T, dir string, env []string, a *dlqApp, dlqDepth func() int) {
	// 500 (1,000 before): the killed run leaves 400, more than a page
	// of a dead-letter cursor (Redis reads 256 at a time).
	const n = 500
	a.sendPoison(t, n)
	a.waitDeadLettered(t, n, dlqDepth)

	seen := map[string]int{}
	take := func() {
		for {
			select {
			case m := <-a.back:
				seen[m.Payload.ID]++
			default:
				return
			}
		}
	}
	replay := func(args ...string) *exec.Cmd {
		// The test binary stands in for the command (see TestMain).
		cmd := exec.Command(os.Args[0], append([]string{"dlq", "replay", "--config", dir, "--binding", "work-in-0"}, args...)...)
		cmd.Env = append(append(os.Environ(), "STREAMBIND_TEST_MAIN=1"), env...)
		return cmd
	}
	// A short lease: the second run waits for the killed one's claims
	// (the suite's time), as long as the lease.
	first := replay("--rate", "250", "--lease", "6s")
	var stderr strings.Builder
	first.Stderr = &stderr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "100 replayed", func() bool { take(); return len(seen) >= 100 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	take()
	killedAt := len(seen)
	if killedAt >= n {
		t.Fatalf("the first replay finished (%d) before it was killed", killedAt)
	}
	if strings.Contains(stderr.String(), "\r") {
		t.Errorf("progress on stderr that is not a terminal: %q", stderr.String())
	}
	out, err := replay("--lease", "6s").CombinedOutput()
	if err != nil {
		t.Fatalf("second replay: %v\n%s", err, out)
	}
	eventually(t, "every dead letter replayed", func() bool { take(); return len(seen) == n })
	a.stop() // handles and acknowledges what it took
	take()
	if d := dlqDepth(); d != 0 {
		t.Errorf("%d dead letters left", d)
	}
	dups := 0
	for id, c := range seen {
		if c > 1 {
			dups += c - 1
			t.Logf("dead letter %s replayed %d times", id, c)
		}
	}
	t.Logf("killed after %d of %d replayed copies arrived; second run: %s; duplicates %d", killedAt, n, strings.TrimSpace(string(out)), dups)
	if dups > 2 {
		t.Errorf("%d duplicates; want at most 2 (the in-flight window)", dups)
	}
}

// config shows a dead-letters-of reader's destination (and, on RabbitMQ,
// group) as the app resolves it, saying where it comes from.
func TestConfigShowsDeadLettersOf(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	r := runIn(t, dir, []string{"VHOST=v"}, "config")
	for _, want := range []string{
		"destination: DLX # dead-letters-of work-in-0",
		"group: work.g.dlq # dead-letters-of work-in-0",
		"dead-letters-of: work-in-0 # application.yaml:",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("config lacks %q:\n%s", want, r.stdout)
		}
	}
}

// A dead-letter reader's group that its binder replaces (RabbitMQ: the
// reader consumes the DLQ queue itself) is warned of by lint; on Kafka the
// reader keeps its group.
func TestLintWarnsReplacedReaderGroup(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml":       fmt.Sprintf(dlqService, rabbitBinder),
		"kafka/application.yaml": fmt.Sprintf(dlqService, kafkaBinder),
	})
	env := []string{"VHOST=v", "KAFKA_BROKERS=127.0.0.1:1"}
	r := runIn(t, dir, env, "lint")
	if r.code != exitOK || !regexp.MustCompile(`application\.yaml:\d+: stream\.bindings\.audit-in-0\.group: warning: not used: binding audit-in-0 reads the dead letters of work-in-0, and its binder has it consume their queue work\.g\.dlq itself`).MatchString(r.stdout+r.stderr) {
		t.Errorf("lint rabbit: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := runIn(t, dir, env, "lint", "kafka"); r.code != exitOK || strings.Contains(r.stdout+r.stderr, "not used") {
		t.Errorf("lint kafka: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// The warning holds when the RabbitMQ binder's TLS CA file is absent where
// lint runs (a file warning): the dead letters' names do not depend on it.
func TestLintWarnsReplacedReaderGroupWithoutTLSFiles(t *testing.T) {
	binder := rabbitBinder + `
        tls:
          ca-file: /nonexistent/streambind-test/ca.pem`
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, binder)})
	r := runIn(t, dir, []string{"VHOST=v"}, "lint")
	out := r.stdout + r.stderr
	if r.code != exitOK || !strings.Contains(out, "tls.ca-file: warning: file /nonexistent/streambind-test/ca.pem: cannot be read") ||
		!strings.Contains(out, "stream.bindings.audit-in-0.group: warning: not used: binding audit-in-0 reads the dead letters of work-in-0") {
		t.Errorf("lint: exit %d, output:\n%s", r.code, out)
	}
}

// TestDLQReplayFlagsChecked: a --rate that time.NewTicker cannot take (or
// NaN), --max-replays 0 and a --since in the future are usage errors, even
// with --dry-run, caught before any broker is reached.
func TestDLQReplayFlagsChecked(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "1e10"}, "--rate: want 0 (unlimited)"},
		{[]string{"--rate", "1e-300"}, "--rate: want 0 (unlimited)"},
		{[]string{"--rate", "NaN"}, "--rate: want 0 (unlimited)"},
		{[]string{"--rate", "+Inf"}, "--rate: want 0 (unlimited)"},
		{[]string{"--rate", "-1"}, "--rate: want 0 (unlimited)"},
		{[]string{"--max-replays", "0"}, "--max-replays: want at least 1, got 0"},
		{[]string{"--since", "-2h"}, "--since: a duration ago must not be negative"},
		{[]string{"--since", "2999-01-01T00:00:00Z"}, "--since: 2999-01-01T00:00:00Z is in the future"},
	} {
		args := append([]string{"dlq", "replay", "--binding", "work-in-0", "--dry-run"}, c.args...)
		r := runIn(t, "testdata/lint/valid", nil, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestDLQLeaseFlag: --lease is checked before anything is opened.
func TestDLQLeaseFlag(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, "  default-binder: memory")})
	for _, args := range [][]string{
		{"dlq", "replay", "--binding", "work-in-0", "--lease", "1s"},
		{"dlq", "purge", "--binding", "work-in-0", "--yes", "--lease", "31m"},
	} {
		r := runIn(t, dir, nil, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--lease: want 6s to 30m0s") {
			t.Errorf("%v: exit %d, %q; want a usage error naming --lease's bounds", args, r.code, r.stderr)
		}
	}
}
