package rabbit

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// testLogger logs at warn level and above to stderr when -v is given with
// RABBIT_TEST_LOG=1, else discards.
func testLogger() *slog.Logger {
	if os.Getenv("RABBIT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newTestBinder returns a binder on the test broker, closed and with its
// declarations deleted when the test ends.
// newLoggedBinder is a binder in vhost logging to logs (text, INFO),
// closed when the test ends.
func newLoggedBinder(t testing.TB, vhost string, logs *syncbuf.Buffer) stream.Binder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bd, err := New(ctx, stream.BinderSettings{Name: "test", Type: Type, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Environment: map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost, "reconnect-initial-interval": "50ms"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer ccancel()
		if err := bd.Close(cctx); err != nil {
			t.Errorf("close binder: %v", err)
		}
	})
	return bd
}

func newTestBinder(t testing.TB, env map[string]any) (*Binder, *tracked) {
	t.Helper()
	rabbittest.Require(t)
	if env == nil {
		env = map[string]any{}
	}
	if _, ok := env["addresses"]; !ok {
		if _, ok := env["uri"]; !ok {
			env["addresses"] = rabbittest.Address()
		}
	}
	if _, ok := env["reconnect-initial-interval"]; !ok {
		env["reconnect-initial-interval"] = "50ms"
	}
	b, err := New(context.Background(), stream.BinderSettings{Name: "test", Type: Type, Environment: env, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	tr := &tracked{Binder: b.(*Binder)}
	rabbittest.Cleanup(t, tr.queues, tr.exchanges)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := tr.Close(ctx); err != nil {
			t.Errorf("close binder: %v", err)
		}
	})
	return tr.Binder, tr
}

// tracked is a binder that records the names of what its bindings declare,
// so that the test can delete them.
type tracked struct {
	*Binder
	mu sync.Mutex
	qs map[string]bool
	xs map[string]bool
}

func (t *tracked) note(q, x []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.qs == nil {
		t.qs, t.xs = map[string]bool{}, map[string]bool{}
	}
	for _, n := range q {
		t.qs[n] = true
	}
	for _, n := range x {
		if n != DLXName {
			t.xs[n] = true
		}
	}
}

func (t *tracked) queues() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for n := range t.qs {
		out = append(out, n)
	}
	return out
}

func (t *tracked) exchanges() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for n := range t.xs {
		out = append(out, n)
	}
	return out
}

func (t *tracked) BindProducer(ctx context.Context, spec stream.ProducerSpec) (stream.Producer, error) {
	var qs []string
	for _, g := range spec.Producer.RequiredGroups {
		qs = append(qs, spec.Destination+"."+g)
		for i := range max(spec.Producer.PartitionCount, 1) {
			qs = append(qs, spec.Destination+"."+g+"-"+strconv.Itoa(i))
		}
	}
	t.note(qs, []string{spec.Destination})
	return t.Binder.BindProducer(ctx, spec)
}

func (t *tracked) BindConsumer(ctx context.Context, spec stream.ConsumerSpec) (stream.Consumer, error) {
	if spec.Group != "" {
		q := []string{spec.Destination + "." + spec.Group, spec.Destination + "." + spec.Group + ".dlq", spec.Group}
		for i := range max(spec.Consumer.InstanceCount, 1) {
			q = append(q, spec.Destination+"."+spec.Group+"-"+strconv.Itoa(i))
		}
		t.note(q, []string{spec.Destination})
	} else {
		t.note(nil, []string{spec.Destination})
	}
	return t.Binder.BindConsumer(ctx, spec)
}

// dlqReader is how the suite reads dead letters: the queue
// <destination>.<group>.dlq, consumed directly.
func dlqReader(dest, group string) stream.ConsumerSpec {
	return stream.ConsumerSpec{
		Destination: DLXName,
		Group:       dest + "." + group + ".dlq",
		Extension:   map[string]any{"queue-name-group-only": true, "declare-exchange": false, "bind-queue": false},
	}
}

// The conformance suite's subtests run one after another (a minute
// under -race on a loaded machine, the package's longest test: it ended
// the package's run alone when it started late), so they are split in
// three parallel tests of about a third each. Each subtest still runs
// once, with a binder and names of its own, as in one test; a subtest
// bindertest gains runs in all three until it is named in a group here.
var conformanceGroups = map[string][]string{
	"TestConformance": {"PublishSubscribe", "HeadersRoundTrip", "LazyHeadersRoundTrip", "ConsumerGroupsCompete", "GroupsEachGetAll",
		"AnonymousBroadcast", "AnonymousRestart", "PauseResume", "Lifecycle", "Pipelined", "EdgeMessages", "EdgeNames", "ReplayGroup"},
	"TestConformanceLoad":  {"CloseUnderLoad", "RestartResumes", "StopHandsOverInOrder"},
	"TestConformanceOrder": {"OrderPerKey", "ConcurrentProducers", "NakRedelivers", "FailureDeadLetters", "LazyFailureDeadLetters", "BatchPartialFailure", "BatchPartialNak", "BatchPrefixSettled", "BatchFailedSettled", "InstanceIndexList", "SendAsync"},
}

func TestConformance(t *testing.T)      { conformance(t) }
func TestConformanceLoad(t *testing.T)  { conformance(t) }
func TestConformanceOrder(t *testing.T) { conformance(t) }

// conformance runs the conformance suite's subtests of t's group
// (conformanceGroups), skipping those of the other groups.
func conformance(t *testing.T) {
	t.Parallel()
	rabbittest.Require(t)
	skip := map[string]string{}
	for test, names := range conformanceGroups {
		if test != t.Name() {
			for _, n := range names {
				skip[n] = "run by " + test
			}
		}
	}
	skip["ShutdownKeepsOrder"] = "run in a virtual host of its own by TestConformanceShutdownKeepsOrder"
	for _, n := range conformanceGroups[t.Name()] {
		if other, ok := skip[n]; ok {
			t.Fatalf("subtest %s is in two groups (%s)", n, other)
		}
	}
	bindertest.Run(t, bindertest.Harness{
		NewBinder: func(t *testing.T) stream.Binder {
			_, tr := newTestBinder(t, nil)
			return tr
		},
		Persistent:      true,
		Duplicates:      false,
		DLQConsumerSpec: dlqReader,
		Unsettled: func(t *testing.T, dest, group string) int {
			return queueMessages(t, "/", dest+"."+group)
		},
		Timeout: 20 * time.Second,
		Skip:    skip,
	})
}

// queueMessages is the queue's messages count in vhost: ready and
// unacknowledged.
func queueMessages(t *testing.T, vhost, queue string) int {
	t.Helper()
	for _, line := range strings.Split(rabbittest.Ctl(t, "-s", "list_queues", "-p", vhost, "name", "messages"), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == queue {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("list_queues: %q", line)
			}
			return n
		}
	}
	t.Fatalf("queue %s not listed", queue)
	return 0
}
