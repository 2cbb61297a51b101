package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// tailRun is tail running in process.
type tailRun struct {
	done   chan int
	mu     sync.Mutex
	stdout strings.Builder
	stderr strings.Builder
	cancel context.CancelFunc
}

func (tr *tailRun) Write(p []byte) (int, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.stdout.Write(p)
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// startTail runs tail with args in dir and returns once it consumes.
func startTail(t *testing.T, dir string, env []string, args ...string) *tailRun {
	t.Helper()
	ready := make(chan string, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	tr := &tailRun{done: make(chan int, 1), cancel: cancel}
	t.Cleanup(cancel)
	go func() {
		tr.done <- run(ctx, append([]string{"tail"}, args...), &runEnv{dir: dir, env: env, stdin: strings.NewReader(""),
			stdout: tr, stderr: lockedWriter{&tr.mu, &tr.stderr}, ready: ready})
	}()
	select {
	case <-ready:
	case code := <-tr.done:
		t.Fatalf("tail ended with %d before it was ready: %s", code, tr.errText())
	case <-time.After(30 * time.Second):
		t.Fatal("tail not ready within 30s")
	}
	return tr
}

func (tr *tailRun) errText() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.stderr.String()
}

// wait waits for tail to end and returns its exit status and the messages
// it printed.
func (tr *tailRun) wait(t *testing.T) (int, []tailed) {
	t.Helper()
	var code int
	select {
	case code = <-tr.done:
	case <-time.After(45 * time.Second):
		t.Fatalf("tail still running; stderr %q", tr.errText())
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []tailed
	for _, l := range strings.Split(strings.TrimSpace(tr.stdout.String()), "\n") {
		if l == "" {
			continue
		}
		var m tailed
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("tail printed %q: %v", l, err)
		}
		out = append(out, m)
	}
	return code, out
}

func payloads(ms []tailed) []string {
	var out []string
	for _, m := range ms {
		b, _ := json.Marshal(m.Payload)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

const kafkaService = `stream:
  function:
    definition: emit;work
  default-binder: kafka
  binders:
    kafka:
      type: kafka
      environment:
        brokers: ${KAFKA_BROKERS}
  kafka:
    binder:
      auto-create-topics: true
      auto-add-partitions: true
  bindings:
    emit-out-0:
      destination: %[1]s
      producer:
        partition-key-expression: payload.id
        partition-count: 2
    work-in-0:
      destination: %[1]s
      group: workers
`

func TestSendTailKafka(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := fmt.Sprintf("cli-%d", time.Now().UnixNano())
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(kafkaService, topic)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	// The topic exists with the binding's partitions before anything
	// consumes, as in production.
	createTopic(t, c.Brokers(), topic, 2)

	tr := startTail(t, dir, env, "--binding", "work-in-0", "--from-beginning", "--count", "4", "--timeout", "30s")

	// Through the output binding: partitioned by payload.id.
	r := runIn(t, dir, env, "send", "--binding", "emit-out-0", "--header", "source=cli", `{"id":"a","n":1}`, `{"id":"b","n":2}`)
	if r.code != exitOK || r.stderr != "sent 2 messages to emit-out-0 ("+topic+" on binder kafka)\n" {
		t.Fatalf("send: exit status %d, stderr %q", r.code, r.stderr)
	}
	// To the destination an input binding reads, JSON lines on stdin, with a key.
	r = runWith(t, &runEnv{dir: dir, env: env, stdin: strings.NewReader("{\"id\":\"c\"}\n\n{\"id\":\"d\"}\n")},
		"send", "--binding", "work-in-0", "--key", "k-1")
	if r.code != exitOK {
		t.Fatalf("send from stdin: exit status %d, stderr %q", r.code, r.stderr)
	}

	code, got := tr.wait(t)
	if code != exitOK {
		t.Fatalf("tail: exit status %d, stderr %q, got %v", code, tr.errText(), payloads(got))
	}
	assertLines(t, payloads(got), []string{`{"id":"a","n":1}`, `{"id":"b","n":2}`, `{"id":"c"}`, `{"id":"d"}`})
	parts := map[string]string{}
	// The record key: none on the partitioned binding (payload.id selects
	// the partition only, as in SCSt), --key's on the other.
	keys := map[string]any{`{"id":"a","n":1}`: nil, `{"id":"b","n":2}`: nil, `{"id":"c"}`: "k-1", `{"id":"d"}`: "k-1"}
	for _, m := range got {
		b, _ := json.Marshal(m.Payload)
		parts[string(b)], _ = m.Headers["scst_partition"].(string)
		if m.Key != keys[string(b)] {
			t.Errorf("key of %s: %#v, want %#v", b, m.Key, keys[string(b)])
		}
		if m.Headers["contentType"] != "application/json" {
			t.Errorf("contentType of %s: %q", b, m.Headers["contentType"])
		}
		if strings.Contains(string(b), `"n"`) && m.Headers["source"] != "cli" {
			t.Errorf("headers of %s: %v, want source=cli", b, m.Headers)
		}
	}
	// Through the partitioned binding: SCSt's partition in scst_partition.
	// To the destination of the input binding, which nothing partitions:
	// the key is the record key only, placed by Kafka's partitioner (no
	// scst_partition; TestSendKeyUnpartitionedKafka checks where).
	if parts[`{"id":"a","n":1}`] == "" || parts[`{"id":"b","n":2}`] == "" || parts[`{"id":"c"}`] != "" || parts[`{"id":"d"}`] != "" {
		t.Errorf("scst_partition of the messages: %v", parts)
	}
}

func createTopic(t *testing.T, brokers, topic string, partitions int) {
	t.Helper()
	conn, err := kafkago.Dial("tcp", brokers)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.CreateTopics(kafkago.TopicConfig{Topic: topic, NumPartitions: partitions, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
}

func TestSendTailRabbit(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + rabbitJobsBindings})
	env := []string{"VHOST=" + vhost}
	// An anonymous tail next to the group: both get every message.
	anon := startTail(t, dir, env, "--destination", "jobs", "--count", "3", "--timeout", "30s")
	r := runIn(t, dir, env, "send", "--binding", "emit-out-0", "--key", "rk-1", `{"n":1}`, `"two"`, `3`)
	if r.code != exitOK {
		t.Fatalf("send: exit status %d, stderr %q", r.code, r.stderr)
	}
	code, got := anon.wait(t)
	if code != exitOK {
		t.Fatalf("tail: exit status %d, stderr %q", code, anon.errText())
	}
	assertLines(t, payloads(got), []string{`"two"`, `3`, `{"n":1}`})
	// The key travels in x-streambind-key and is the message's key again
	// on receipt, not a header.
	for _, m := range got {
		if m.Key != "rk-1" || m.Headers["x-streambind-key"] != nil {
			t.Errorf("key %#v, headers %v; want key rk-1 and no x-streambind-key header", m.Key, m.Headers)
		}
	}

	// The group's queue (provisioned by required-groups) kept them too.
	group := startTail(t, dir, env, "--binding", "work-in-0", "--group", "workers", "--count", "3", "--timeout", "30s")
	code, got = group.wait(t)
	if code != exitOK {
		t.Fatalf("tail --group: exit status %d, stderr %q", code, group.errText())
	}
	assertLines(t, payloads(got), []string{`"two"`, `3`, `{"n":1}`})

	// A destination nobody reads: the error names it, and names send's
	// own binding at most once.
	r = runIn(t, dir, env, "send", "--destination", "nowhere", `{}`)
	if r.code != exitFailure || !strings.Contains(r.stderr, "argument 1: rabbit: send to \"nowhere\"") || strings.Count(r.stderr, sendBinding) > 1 {
		t.Errorf("send to nowhere: exit status %d, stderr %q", r.code, r.stderr)
	}
}

func TestSendTailErrors(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		"application.yaml":       "stream:\n  function:\n    definition: work\n  bindings:\n    work-in-0:\n      group: g\n",
		"two/application.yaml":   "stream:\n  function:\n    definition: work\n  binders:\n    a:\n      type: memory\n    b:\n      type: memory\n  bindings:\n    work-in-0:\n      binder: a\n      group: g\n",
		"kafka/application.yaml": "stream:\n  default-binder: kafka\n  binders:\n    kafka:\n      type: kafka\n      environment:\n        brokers: 127.0.0.1:1\n        dial-timeout: 200ms\n      startup-timeout: 300ms\n",
		// The service's own bindings (a router, input bindings) are not
		// bound by send and tail: they reach the binder.
		"routed/application.yaml": "stream:\n  default-binder: kafka\n  function:\n    definition: functionRouter\n    routing-expression: \"headers['type']\"\n  input-bindings: fooin\n  binders:\n    kafka:\n      type: kafka\n      environment:\n        brokers: 127.0.0.1:1\n        dial-timeout: 200ms\n      startup-timeout: 300ms\n",
	})
	for _, tc := range []struct {
		args []string
		code int
		text string
	}{
		{[]string{"send", "{}"}, exitUsage, "say where: --binding NAME, --destination NAME or --exchange NAME"},
		{[]string{"tail", "--binding", "a", "--destination", "b"}, exitUsage, "--binding and --destination exclude each other"},
		{[]string{"send", "--destination", "b", "--exchange", "c"}, exitUsage, "--destination and --exchange exclude each other"},
		{[]string{"send", "--destination", "b", "--header", "nokey"}, exitUsage, `--header: want k=v, got "nokey"`},
		{[]string{"send", "--binding", "nope", "{}"}, exitUsage, `streambind: application.yaml: no binding "nope" (bindings: work-in-0)`},
		// No binder chosen or declared: the app's code would choose it;
		// the command asks.
		{[]string{"send", "--binding", "work-in-0", "{}"}, exitUsage, "which binder? stream.default-binder is not set and no binder is declared under stream.binders (the app's code chooses: the one binder type it registers): set stream.default-binder, or pass --binder (kafka, memory, nats, rabbit, redis)"},
		{[]string{"tail", "--destination", "x"}, exitUsage, "set stream.default-binder, or pass --binder"},
		{[]string{"dlq", "ls", "--binding", "work-in-0"}, exitUsage, "set stream.default-binder, or pass --binder"},
		{[]string{"send", "--binding", "work-in-0", "--binder", "Memory", "{}"}, exitFailure, "the in-process binder (memory) lives inside one app's process"},
		{[]string{"tail", "--destination", "x", "--binder", "memory"}, exitFailure, "the in-process binder (memory) lives inside one app's process"},
		{[]string{"dlq", "ls", "--binding", "work-in-0", "--binder", "memory"}, exitFailure, "the in-process binder (memory) lives inside one app's process"},
		{[]string{"send", "--destination", "x", "--binder", "nope", "{}"}, exitUsage, `--binder: want a binder type (kafka, memory, nats, rabbit, redis), got "nope"`},
		{[]string{"tail", "--config", "two", "--destination", "x"}, exitUsage, "stream.default-binder is not set and 2 binders are declared under stream.binders: set stream.default-binder, or pass --binder (a, b)"},
		{[]string{"tail", "--config", "two", "--binding", "work-in-0", "--binder", "b"}, exitUsage, "--binder b: binding work-in-0 names its own binder, a"},
		{[]string{"tail", "--config", "two", "--destination", "x", "--binder", "c"}, exitUsage, `--binder: want a binder declared under stream.binders (a, b) or a binder type (kafka, memory, nats, rabbit, redis), got "c"`},
		{[]string{"tail", "--destination", "x", "--count", "-1"}, exitUsage, "must not be negative"},
		// The configuration as PATH, as lint, config and dlq take it.
		{[]string{"tail", "two", "--destination", "x"}, exitUsage, "2 binders are declared under stream.binders: set stream.default-binder, or pass --binder (a, b)"},
		{[]string{"tail", "two", "--binding", "work-in-0", "--binder", "b"}, exitUsage, "--binder b: binding work-in-0 names its own binder, a"},
		{[]string{"send", "two", "--binding", "work-in-0", "--binder", "b", "{}"}, exitUsage, "--binder b: binding work-in-0 names its own binder, a"},
		{[]string{"send", "kafka/application.yaml", "--destination", "x", "{}", "nope"}, exitFailure, `argument 2 is not JSON (content type application/json): "nope"; nothing sent`},
		{[]string{"tail", "two", "--config", "kafka", "--destination", "x"}, exitUsage, `give the configuration as PATH or as --config, not both (PATH "two", --config "kafka")`},
		{[]string{"send", "two", "--config", "kafka", "--destination", "x", "{}"}, exitUsage, `give the configuration as PATH or as --config, not both (PATH "two", --config "kafka")`},
		{[]string{"send", "--config", "kafka", "--destination", "x", "{}"}, exitFailure, "binder kafka at 127.0.0.1:1: cannot reach the broker within its startup-timeout (300ms): kafka: bind "},
		{[]string{"send", "routed", "--destination", "x", "{}"}, exitFailure, "binder kafka at 127.0.0.1:1: cannot reach the broker within its startup-timeout (300ms): kafka: bind "},
		{[]string{"tail", "routed", "--destination", "x"}, exitFailure, "binder kafka at 127.0.0.1:1: cannot reach the broker within its startup-timeout (300ms): kafka: bind "},
		{[]string{"send", "--config", "kafka", "--destination", "x", "{}"}, exitFailure, "hint: is a Kafka broker listening at the binder's brokers (KAFKA_BROKERS in the examples' configurations)? For development, streambind kafka serve runs one"},
		{[]string{"send", "--binding", "work-in-0", "--binder", "memory", "{}"}, exitFailure, "use a profile with kafka, rabbit, nats or redis"},
		{[]string{"kafka", "--help"}, exitOK, "--orders 0 --rate 50"},
		// Every argument is checked before any is sent.
		{[]string{"send", "--config", "kafka", "--destination", "x", "{}", "nope"}, exitFailure, `argument 2 is not JSON (content type application/json): "nope"; nothing sent`},
		{[]string{"send", "--help"}, exitOK, "streambind send --profile rabbit --destination orders"},
		{[]string{"tail", "--help"}, exitOK, "streambind tail --profile kafka --binding chargePayment-out-0"},
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

func TestSendRejectsWhatIsNotJSON(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := fmt.Sprintf("cli-%d", time.Now().UnixNano())
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(kafkaService, topic)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	r := runWith(t, &runEnv{dir: dir, env: env, stdin: strings.NewReader("{\"id\":\"x\"}\nnot json\n{\"id\":\"y\"}\n")},
		"send", "--destination", topic)
	if r.code != exitFailure || !strings.Contains(r.stderr, `line 2 is not JSON (content type application/json): "not json"`) ||
		!strings.Contains(r.stderr, "sent 1 message to "+topic) {
		t.Errorf("exit status %d, stderr %q", r.code, r.stderr)
	}
	tr := startTail(t, dir, env, "--destination", topic, "--from-beginning", "--count", "2", "--timeout", "2s")
	code, got := tr.wait(t)
	if code != exitFailure || !strings.Contains(tr.errText(), "1 of 2 messages within 2s") {
		t.Errorf("tail: exit status %d, stderr %q", code, tr.errText())
	}
	assertLines(t, payloads(got), []string{`{"id":"x"}`})
}

// TestSendTailDefaultCandidate: with two binders declared, one of them
// default-candidate: false, send, tail and dlq use the other for the
// bindings that name none, as the app does, without --binder (they took
// the in-process binder).
func TestSendTailDefaultCandidate(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": `spring:
  cloud:
    function:
      definition: emit;work
    stream:
      binders:
        main:
          type: rabbit
          environment:
            addresses: ${RABBIT_ADDRESSES:127.0.0.1:5672}
            virtual-host: ${VHOST}
        audit:
          type: rabbit
          default-candidate: false
          environment:
            addresses: 127.0.0.1:1
      bindings:
        emit-out-0:
          destination: jobs
        work-in-0:
          destination: jobs
          group: workers
          consumer:
            dlq: true
`})
	env := []string{"VHOST=" + vhost}
	tail := startTail(t, dir, env, "--binding", "work-in-0", "--group", "workers", "--count", "1", "--timeout", "30s")
	if r := runIn(t, dir, env, "send", "--binding", "emit-out-0", `{"n":1}`); r.code != exitOK {
		t.Fatalf("send: exit status %d, stderr %q", r.code, r.stderr)
	}
	code, got := tail.wait(t)
	if code != exitOK {
		t.Fatalf("tail: exit status %d, stderr %q", code, tail.errText())
	}
	assertLines(t, payloads(got), []string{`{"n":1}`})
	// tail joined the group as work-in-0 does (dlq: true), declaring its
	// DLQ: dlq asks the rabbit binder of main's vhost, where it is empty
	// (audit's binder, where nothing listens, would fail).
	if r := runIn(t, dir, env, "dlq", "ls", "--binding", "work-in-0"); r.code != exitOK || !strings.Contains(r.stdout, "0 dead letters of work-in-0 in jobs.workers.dlq") {
		t.Fatalf("dlq ls: exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// tail --from-beginning reads what a NATS stream holds (it was ignored
// there: 0 of 1 with 4 messages in the stream); where no history can be
// read (RabbitMQ, a Redis anonymous consumer) it is refused, not ignored.
func TestTailFromBeginningNATS(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	dest := "tailtest-" + uuid.NewString()[:8] + ".orders"
	natstest.DeleteStreams(t, natstest.URL(), func() []string { return []string{nats.StreamName(dest)} })
	dir := writeFiles(t, map[string]string{"application.yaml": `
stream:
  default-binder: nats
  binders:
    nats:
      type: nats
      environment:
        servers: ${NATS_URL}
    rabbit: # nothing listens: tail must refuse before it connects
      type: rabbit
      environment:
        addresses: 127.0.0.1:1
    redis:
      type: redis
      environment:
        address: 127.0.0.1:1
`})
	env := []string{"NATS_URL=" + natstest.URL()}
	r := runIn(t, dir, env, "send", "--destination", dest, `{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`)
	if r.code != exitOK {
		t.Fatalf("send: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runIn(t, dir, env, "tail", "--destination", dest, "--from-beginning", "--count", "4", "--timeout", "20s")
	if l := r.lines(); r.code != exitOK || len(l) != 4 || !strings.Contains(l[0], `"payload":{"n":1}`) || !strings.Contains(l[3], `"payload":{"n":4}`) {
		t.Errorf("tail --from-beginning: exit %d, stdout %q, stderr %q; want the 4 messages", r.code, r.stdout, r.stderr)
	}
	for _, tc := range []struct{ binder, want string }{
		{"rabbit", "holds no history"},
		{"redis", "needs --group"},
	} {
		r = runIn(t, dir, env, "tail", "--binder", tc.binder, "--destination", dest, "--from-beginning", "--count", "1")
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("tail --from-beginning on %s: exit %d, stderr %q; want a usage error saying %q", tc.binder, r.code, r.stderr, tc.want)
		}
	}
}

// TestSendHeaderContentType: --header contentType=... is the messages'
// content type: text with --header contentType=text/plain is sent as such
// (it was refused as "not JSON (content type application/json)"), and the
// JSON check follows the header's type, not the binding's.
func TestSendHeaderContentType(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := fmt.Sprintf("cli-%d", time.Now().UnixNano())
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(kafkaService, topic)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	r := runIn(t, dir, env, "send", "--destination", topic, "--header", "contentType=text/plain", "not json", "plain text")
	if r.code != exitOK || !strings.Contains(r.stderr, "sent 2 messages to "+topic) {
		t.Fatalf("send text/plain: exit status %d, stderr %q", r.code, r.stderr)
	}
	// A JSON type in the header is checked as JSON, whatever the binding's.
	r = runIn(t, dir, env, "send", "--destination", topic, "--header", "contentType=application/vnd.order+json", "not json")
	if r.code != exitFailure || !strings.Contains(r.stderr, `argument 1 is not JSON (content type application/vnd.order+json)`) {
		t.Fatalf("send vnd+json: exit status %d, stderr %q", r.code, r.stderr)
	}
	// Headers are case-sensitive and an empty contentType is none: the
	// binding's JSON type goes on the wire, so the JSON check applies
	// (the check took both for the message's type and sent "not json" as
	// application/json).
	for _, h := range []string{"contenttype=text/plain", "contentType="} {
		r = runIn(t, dir, env, "send", "--destination", topic, "--header", h, "not json")
		if r.code != exitFailure || !strings.Contains(r.stderr, `argument 1 is not JSON (content type application/json)`) {
			t.Fatalf("send --header %s: exit status %d, stderr %q; want the binding's JSON type checked", h, r.code, r.stderr)
		}
	}
	tr := startTail(t, dir, env, "--destination", topic, "--from-beginning", "--count", "2", "--timeout", "30s")
	code, got := tr.wait(t)
	if code != exitOK {
		t.Fatalf("tail: exit status %d, stderr %q", code, tr.errText())
	}
	for _, m := range got {
		if m.Headers["contentType"] != "text/plain" {
			t.Errorf("contentType of %v: %q, want text/plain", m.Payload, m.Headers["contentType"])
		}
	}
	assertLines(t, payloads(got), []string{`"not json"`, `"plain text"`})
}
