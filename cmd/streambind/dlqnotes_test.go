package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestDLQReplayNotesCappedAndLimitSaid: a replay prints the first
// maxNotes notes of a kind that repeats for every dead letter (skipped for
// --max-replays), then one line, and the summary counts them all: it
// printed one note per dead letter (2,577 lines for a queue of loops).
// Stopped at --limit, the summary says its count of what did not match is
// of what was read: "13 did not match the filters" read as all of them.
func TestDLQReplayNotesCappedAndLimitSaid(t *testing.T) {
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
	const loops = 25
	for i := range loops {
		if err := a.app.Bridge().Send(context.Background(), "in", stream.Message[job]{Payload: job{fmt.Sprint(i), "loop"},
			Headers: stream.Headers{stream.HeaderReplayCount: "1", "fail-again": "yes"}}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, fmt.Sprint(loops, " dead letters"), func() bool { return depth() == loops })
	a.send(t, "c-1", job{"a", "has no account"}, job{"b", "has no account"}, job{"c", "has no account"})
	eventually(t, fmt.Sprint(loops+3, " dead letters"), func() bool { return depth() == loops+3 })
	replay := func(args ...string) result {
		t.Helper()
		return runWith(t, &runEnv{binders: factories, dir: dir}, append([]string{"dlq", "replay", "--binding", "work-in-0", "--dry-run"}, args...)...)
	}

	r := replay("--max-replays", "1")
	if n := strings.Count(r.stderr, "skipped: replayed 1 time already (--max-replays 1)"); r.code != exitOK || n != maxNotes ||
		strings.Count(r.stderr, "note: more dead letters skipped for --max-replays are not listed; the summary counts them\n") != 1 ||
		!strings.Contains(r.stdout, "would replay 3 dead letters of work-in-0; 0 did not match the filters; 25 skipped: replayed 1 time or more already (--max-replays)\n") {
		t.Errorf("--max-replays 1: exit %d, %d notes (want %d), stdout %q, stderr %q", r.code, n, maxNotes, r.stdout, r.stderr)
	}

	r = replay("--exception", "has no account", "--limit", "2")
	if r.code != exitOK || strings.Count(r.stdout, "would replay ") != 3 ||
		!strings.Contains(r.stdout, "would replay 2 dead letters of work-in-0; 25 of the 27 read did not match the filters; reading stopped at --limit 2 (the dead letters after those were not read); 0 skipped") {
		t.Errorf("--limit 2: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// All read: the count is of all.
	r = replay("--exception", "has no account")
	if r.code != exitOK || !strings.Contains(r.stdout, "would replay 3 dead letters of work-in-0; 25 did not match the filters; 0 skipped") || strings.Contains(r.stdout, "--limit") {
		t.Errorf("no --limit: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if n := depth(); n != loops+3 {
		t.Errorf("after dry runs: %d dead letters, want %d", n, loops+3)
	}
}
