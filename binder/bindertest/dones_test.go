package bindertest

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// failures is a testing.TB that records what would have failed the
// test; Fatalf ends the goroutine, as testing's does.
type failures struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (f *failures) Helper() {}

func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func (f *failures) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}

// run runs check with a failures and returns what it recorded.
func (f *failures) run(check func(testing.TB)) []string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(f)
	}()
	<-done
	return f.msgs
}

func TestDones(t *testing.T) {
	boom := errors.New("boom")
	d := NewDones(3)
	d.Name = "probe"
	d.Done(0)(nil)
	d.Done(1)(boom)
	if got := (&failures{}).run(func(tb testing.TB) { d.Wait(tb, 50*time.Millisecond) }); len(got) != 1 || !strings.Contains(got[0], "1 of 3 SendAsyncs not answered") {
		t.Errorf("Wait with 1 of 3 left: %q", got)
	}
	if d.Answered() != 2 || d.Left() != 1 {
		t.Errorf("Answered %d, Left %d; want 2, 1", d.Answered(), d.Left())
	}
	if c := d.Call(2, nil); c != 1 {
		t.Errorf("Call: %d, want 1", c)
	}
	if c := d.Call(2, boom); c != 2 {
		t.Errorf("Call again: %d, want 2", c)
	}
	if got := (&failures{}).run(func(tb testing.TB) { d.Wait(tb, time.Second) }); len(got) != 0 {
		t.Errorf("Wait with every done called: %q", got)
	}
	if got := (&failures{}).run(d.CheckOnce); len(got) != 1 || got[0] != "probe: message 2: done called 2 times, want once" {
		t.Errorf("CheckOnce: %q", got)
	}
	if got := (&failures{}).run(d.CheckNil); len(got) != 1 || got[0] != "probe: message 1: done(boom), want done(nil)" {
		t.Errorf("CheckNil: %q", got)
	}
	if f := d.Failed(); len(f) != 1 || f[1] != boom || d.Err(2) != nil {
		t.Errorf("Failed %v, Err(2) %v; want message 1's boom alone (a done's first call counts)", f, d.Err(2))
	}
	if got := (&failures{}).run(NewDones(0).CheckOnce); len(got) != 0 {
		t.Errorf("CheckOnce of none: %q", got)
	}
}
