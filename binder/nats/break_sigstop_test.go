package nats_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// stoppedMemberEnv names the destination the helper process consumes
// (TestStoppedMemberHelper); unset, that test does nothing.
const stoppedMemberEnv = "STREAMBIND_NATS_STOPPED_MEMBER_DEST"

// TestBreakProcessStoppedPastAckWait: a member whose process is stopped
// (SIGSTOP) for longer than ack-wait while it holds queued messages does
// not handle them when it runs again: JetStream gave them to the other
// member meanwhile, which handled them. Only the message whose handler
// was running when the process stopped is handled by both (documented).
// The pause trial had 38 of 120 handled twice. The helper holds every
// message before it is stopped (8, below its prefetch, delivered in one
// burst with m-0); JetStream redelivers some of them to its pull while it
// is stopped, which it reads first when it runs again (within the
// prefetch messages it leaves after a freeze).
func TestBreakProcessStoppedPastAckWait(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	dest := unique(t, "stopped")
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	// The group's consumer and the stream exist before the helper binds,
	// so that it starts at the first message; the in-process member
	// starts consuming only after the helper was stopped.
	tr := newTracker()
	var want []string
	for i := range 8 {
		id := "m-" + strconv.Itoa(i)
		want = append(want, id)
		if err := p.Send(context.Background(), msg(id)); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestStoppedMemberHelper$", "-test.v")
	cmd.Env = append(os.Environ(), stoppedMemberEnv+"="+dest, "NATS_URL_FOR_HELPER="+natstest.URL())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed once waitErr is set
	var waitErr error
	lines := make(chan string, 1024)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // the test stopped reading: drain the pipe
			}
		}
		close(lines)
		waitErr = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		<-exited
	})
	var handledByHelper []string
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("helper exited while waiting for %s", what)
			}
			if id, ok := strings.CutPrefix(l, "HANDLED "); ok {
				handledByHelper = append(handledByHelper, id)
			}
			return l
		case <-time.After(20 * time.Second):
			t.Fatalf("no %s from the helper within 20s", what)
			return ""
		}
	}
	for next("BLOCKED") != "BLOCKED" {
	}
	// The helper holds m-0 in its handler and the next prefetched
	// messages queued behind it.
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(1),
		Extension: map[string]any{"ack-wait": "1s"}})
	tr.wait(t, want, 20*time.Second)
	// The helper's leases have lapsed (the other member has every message);
	// its stopped time must exceed ack-wait by more than the delivery's
	// latency, which the server's timer started before the helper's
	// receipt: the condition under test is a duration.
	if d := 1500*time.Millisecond - time.Since(stoppedAt); d > 0 {
		time.Sleep(d)
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil { // m-0's handler returns
		t.Fatal(err)
	}
	for {
		l := next("the WARN about lapsed messages")
		if strings.Contains(l, "held past ack-wait") {
			break
		}
		if id, ok := strings.CutPrefix(l, "HANDLED "); ok && id != "m-0" {
			t.Fatalf("the stopped member handled %s after it ran again, although the other member had it: handled twice", id)
		}
	}
	_ = stdin.Close() // the helper stops its consumer and exits
	for l := range lines {
		if id, ok := strings.CutPrefix(l, "HANDLED "); ok {
			handledByHelper = append(handledByHelper, id)
		}
	}
	<-exited
	if waitErr != nil {
		t.Fatalf("helper: %v", waitErr)
	}
	for _, id := range handledByHelper {
		if id != "m-0" {
			t.Errorf("the stopped member handled %s, which the other member handled too", id)
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for id, n := range tr.got {
		if n > 1 {
			t.Errorf("%s handled %d times by the other member", id, n)
		}
	}
}

// TestStoppedMemberHelper is the member TestBreakProcessStoppedPastAckWait
// stops: it consumes the destination in its environment (group g,
// ack-wait 1s, prefetch 16), prints HANDLED <id> for each message and its
// WARN lines to stdout, blocks m-0's handler until a line on stdin, and
// stops at stdin's end.
func TestStoppedMemberHelper(t *testing.T) {
	dest := os.Getenv(stoppedMemberEnv)
	if dest == "" {
		t.Skip("run by TestBreakProcessStoppedPastAckWait")
	}
	var out sync.Mutex
	println := func(s string) {
		out.Lock()
		defer out.Unlock()
		fmt.Fprintln(os.Stdout, s)
	}
	log := slog.New(slog.NewTextHandler(lineWriter{println}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	bd, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type,
		Environment: map[string]any{"servers": os.Getenv("NATS_URL_FOR_HELPER")}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	b := bd
	goOn, eof := make(chan struct{}), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		if sc.Scan() {
			close(goOn)
			for sc.Scan() {
			}
		}
		close(eof)
	}()
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g",
		Handler: func(ctx context.Context, m stream.Envelope) error {
			id := m.Headers[idHeader]
			if id == "m-0" {
				println("BLOCKED")
				select {
				case <-goOn:
				case <-eof:
				}
			}
			println("HANDLED " + id)
			return nil
		},
		Extension: map[string]any{"ack-wait": "1s", "prefetch": 16}})
	<-eof
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelClose()
	_ = b.Close(closeCtx)
}

// lineWriter hands each write (a log line) to print.
type lineWriter struct{ print func(string) }

func (w lineWriter) Write(p []byte) (int, error) {
	w.print(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
