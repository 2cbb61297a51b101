package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// promptWriter is a stderr that tells when purge's question was written.
type promptWriter struct {
	mu     sync.Mutex
	b      strings.Builder
	asked  chan struct{}
	closed bool
}

func (w *promptWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if !w.closed && strings.Contains(w.b.String(), "[y/N] ") {
		w.closed = true
		close(w.asked)
	}
	return len(p), nil
}

func (w *promptWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestPurgeInterruptedAtTheQuestion: an interrupt (Ctrl-C, SIGTERM: the
// run's context ends) while purge waits for its y/N went unnoticed: the
// read of stdin went on, on a terminal until a line came (Ctrl-C did
// nothing), and a stdin that then ended gave "no answer on stdin ... run
// it again with --yes", exit status 2, as to a script that forgot --yes.
// Now it says it was interrupted and exits with status 1, as an
// interrupted replay does, having purged nothing.
func TestPurgeInterruptedAtTheQuestion(t *testing.T) {
	t.Parallel()
	// The terminal's case, and stdin's writer ended by the same signal.
	for _, endStdin := range []bool{false, true} {
		t.Run(fmt.Sprint("endStdin=", endStdin), func(t *testing.T) {
			t.Parallel()
			purgeInterrupted(t, endStdin)
		})
	}
}

func purgeInterrupted(t *testing.T, endStdin bool) {
	broker, err := memory.NewBroker(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close(context.Background()) })
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, "  default-binder: memory")})
	a := startDLQApp(t, dir, []string{}, stream.WithBinderType(memory.Type, memory.Factory(broker)))
	a.send(t, "c-1", job{"1", "card declined"})
	depth := func() int { n, _ := broker.Depth(stream.DLQName("work", "g"), "audit"); return n }
	eventually(t, "1 dead letter", func() bool { return depth() == 1 })

	stdin, answer := io.Pipe() // a terminal: nobody answers
	t.Cleanup(func() { _ = answer.Close() })
	stderr := &promptWriter{asked: make(chan struct{})}
	var stdout strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dlq", "purge", "--binding", "work-in-0"}, &runEnv{dir: dir, stdin: stdin, stdout: &stdout, stderr: stderr,
			binders: map[string]stream.BinderFactory{memory.Type: memory.Factory(broker)}})
	}()
	select {
	case <-stderr.asked:
	case code := <-done:
		t.Fatalf("purge ended with %d before it asked: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("purge did not ask within 30s: %s", stderr.String())
	}
	cancel() // Ctrl-C
	if endStdin {
		_ = answer.Close()
	}
	var code int
	select {
	case code = <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("purge still waits for an answer 15s after the interrupt: %s", stderr.String())
	}
	if code != exitFailure || !strings.HasSuffix(stderr.String(), "? [y/N] \nstreambind: interrupted: nothing purged\n") || stdout.String() != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	if n := depth(); n != 1 {
		t.Errorf("%d dead letters after the interrupt, want 1", n)
	}
}
