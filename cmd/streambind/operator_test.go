package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// What an operator hits on a busy production system: typos, payloads that
// are not text, dead letters whose text holds terminal escapes, Ctrl-C.

const operatorRabbit = `stream:
  function:
    definition: work
  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
      environment:
        addresses: ${RABBIT_ADDRESSES:127.0.0.1:5672}
        virtual-host: ${VHOST}
  bindings:
    work-in-0:
      destination: jobs
      group: workers
      content-type: text/plain
      consumer:
        dlq: true
`

// A typo in --binding is named with the binding meant; an output binding
// given to dlq is said to be one. Both are bad usage: exit status 2, as
// a missing --binding.
func TestUnknownBindingSuggestsName(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": strings.Replace(operatorRabbit, "definition: work", "definition: work;emit", 1) + `    emit-out-0:
      destination: jobs
`})
	env := []string{"VHOST=unused"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "--binding", "work-in-O", "x"}, `no binding "work-in-O" (did you mean work-in-0?)`},
		{[]string{"tail", "--binding", "Wrok-in-0"}, `no binding "Wrok-in-0" (did you mean work-in-0?)`},
		{[]string{"dlq", "ls", "--binding", "work-in-1"}, `no consumer binding "work-in-1" (did you mean work-in-0?)`},
		{[]string{"dlq", "show", "--binding", "work"}, `no consumer binding "work" (did you mean work-in-0?)`},
		{[]string{"dlq", "ls", "--binding", "emit-out-0"}, "emit-out-0 is an output binding"},
		{[]string{"send", "--binding", "zzz", "x"}, `no binding "zzz" (bindings:`},
	} {
		r := runIn(t, dir, env, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "--help' for usage") {
			t.Errorf("%v: exit status %d, stderr %q; want exit status 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// tail keeps every byte of a payload that is not UTF-8: as a JSON string
// each such byte would be U+FFFD.
func TestTailKeepsPayloadThatIsNotUTF8(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": operatorRabbit})
	env := []string{"VHOST=" + vhost}
	tr := startTail(t, dir, env, "--destination", "jobs", "--count", "2", "--timeout", "30s")
	latin1 := "caf\xe9 cr\xe8me"
	r := runIn(t, dir, env, "send", "--binding", "work-in-0", latin1, "plain text")
	if r.code != exitOK {
		t.Fatalf("send: exit status %d, stderr %q", r.code, r.stderr)
	}
	code, got := tr.wait(t)
	if code != exitOK || len(got) != 2 {
		t.Fatalf("tail: exit status %d, %d messages, stderr %q", code, len(got), tr.errText())
	}
	b, _ := json.Marshal(got[0].Payload)
	if want := `{"b64":"` + base64.StdEncoding.EncodeToString([]byte(latin1)) + `"}`; string(b) != want {
		t.Errorf("payload %s, want %s", b, want)
	}
	if got[1].Payload != "plain text" {
		t.Errorf("text payload %#v, want the string", got[1].Payload)
	}
}

// Ctrl-C stops a send that waits for a line of stdin (a terminal, a pipe
// that stays open), with exit status 1 and a message that says so.
func TestSendInterruptedWhileReadingStdin(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": operatorRabbit})
	stdin, w := io.Pipe()
	defer w.Close()
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"send", "--destination", "jobs"}, &runEnv{dir: dir, env: []string{"VHOST=" + vhost},
			stdin: stdin, stdout: io.Discard, stderr: &stderr, ready: ready})
	}()
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("send ended with %d before it ran: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("send not running within 30s")
	}
	cancel() // Ctrl-C
	select {
	case code := <-done:
		if code != exitFailure || !strings.Contains(stderr.String(), "streambind: interrupted") {
			t.Errorf("exit status %d, stderr %q", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("send still waiting for stdin 30s after it was interrupted")
	}
}

// dlq prints a dead letter's text safely (a terminal would run the escapes
// in an exception message) and its JSON payload as written: decoded, a
// big number would be rounded and a repeated key dropped.
func TestDLQPrintsDeadLettersFaithfullyAndSafely(t *testing.T) {
	msg := "bad \x1b[2J\x1b]0;title\a input \xe9\u009b\nline two"
	if got, want := oneLine(msg), `bad \x1b[2J\x1b]0;title\a input \xe9\u009b line two`; got != want {
		t.Errorf("oneLine: %q, want %q", got, want)
	}
	var b strings.Builder
	printDeadLetter(&b, 1, stream.DeadLetter{ID: "7", Envelope: stream.Envelope{
		Headers: stream.Headers{stream.HeaderExceptionMessage: msg, "k\x1b[31m": "v"},
		Payload: []byte(`{"id":12345678901234567891,"amount":0.10000000000000000555,"dup":1,"dup":2,"s":"\u001b` + "\u009b" + `"}`)}}, false)
	out := b.String()
	if strings.ContainsFunc(strings.ReplaceAll(out, "\n", ""), isControl) {
		t.Errorf("show prints control characters: %q", out)
	}
	for _, want := range []string{`"id": 12345678901234567891,`, `"amount": 0.10000000000000000555,`, `"dup": 1,`, `"dup": 2,`, `"s": "\u001b\u009b"`, `k\x1b[31m: v`} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if got := prettyPayload([]byte("a\x1b[2Jb\u009bc")); got != `"a\x1b[2Jb\u009bc"` {
		t.Errorf("text payload with escapes: %s", got)
	}
	if got := truncate("ab\u00e9", 3); got != "ab…" {
		t.Errorf("truncate cuts a rune: %q", got)
	}
}
