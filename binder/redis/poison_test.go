package redis_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// poisonHelperEnv makes the test binary a member of
// TestPoisonCrashingEveryMemberIsDeadLettered's group.
const poisonHelperEnv = "STREAMBIND_REDIS_POISON_HELPER"

// poisonExit is the exit code of a helper the poison killed.
const poisonExit = 3

// TestPoisonHelper is not a test: run as a child process by
// TestPoisonCrashingEveryMemberIsDeadLettered, it joins the group with dlq
// and max-deliveries 2, and exits (crashes) the moment a handler gets the
// poison.
func TestPoisonHelper(t *testing.T) {
	cfg := os.Getenv(poisonHelperEnv)
	if cfg == "" {
		t.Skip("helper process of TestPoisonCrashingEveryMemberIsDeadLettered")
	}
	f := strings.Split(cfg, "|") // prefix|name|dest
	b := newBinder(t, map[string]any{"address": redistest.Addr(), "key-prefix": f[0], "client-name": f[1]})
	bindConsumer(t, b, stream.ConsumerSpec{Destination: f[2], Group: "g", Consumer: stream.ConsumerConfig{DLQ: true},
		Extension: map[string]any{"max-deliveries": 2, "claim-min-idle": "100ms", "claim-interval": "100ms"},
		Handler: func(context.Context, stream.Envelope) error {
			os.Exit(poisonExit) // the poison kills the process
			return nil
		}})
	time.Sleep(time.Minute)
}

// TestPoisonCrashingEveryMemberIsDeadLettered: a message that kills every
// member that handles it (other processes, killed by it) is delivered —
// first read, then reclaimed from the dead member — max-deliveries times,
// and the member that reclaims it after that dead-letters it, with the
// exception headers, without handling it.
func TestPoisonCrashingEveryMemberIsDeadLettered(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts child processes")
	}
	e := newEnv(t)
	const dest = "poison"
	b := e.binder(t, nil)
	var mu sync.Mutex
	var dl *stream.Envelope
	got := make(chan struct{})
	bindConsumer(t, b, stream.ConsumerSpec{Destination: stream.DLQName(dest, "g"), Group: "dlq-reader",
		Handler: func(_ context.Context, m stream.Envelope) error {
			mu.Lock()
			defer mu.Unlock()
			if dl == nil {
				dl = &m
				close(got)
			}
			return nil
		}})
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest, Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}})
	send(t, p, []string{"poison"})
	member := func(i int) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPoisonHelper$")
		cmd.Env = append(os.Environ(), poisonHelperEnv+"="+e.prefix+"|"+e.name+"-member-"+itoa(i)+"|"+dest)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// Two members in turn take the poison (a read, then a reclaim) and die.
	for i := 1; i <= 2; i++ {
		cmd := member(i)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != poisonExit {
				t.Fatalf("member %d: %v, want exit code %d (killed by the poison)", i, err, poisonExit)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("member %d did not get the poison", i)
		}
	}
	// The third reclaims it after its second delivery: it must dead-letter
	// it, not handle it (which would kill it too).
	cmd := member(3)
	exited := make(chan struct{})
	var werr error
	go func() { werr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	select {
	case <-got:
	case <-exited:
		t.Fatalf("member 3 exited (%v) instead of dead-lettering the poison", werr)
	case <-time.After(20 * time.Second):
		t.Fatal("the poison was not dead-lettered")
	}
	mu.Lock()
	defer mu.Unlock()
	if dl.Headers[idHeader] != "poison" || !strings.Contains(dl.Headers[stream.HeaderExceptionMessage], "max-deliveries") || dl.Headers[stream.HeaderExceptionFQCN] == "" {
		t.Errorf("dead letter headers: %v", dl.Headers)
	}
	if got := dl.Headers[redisbinder.HeaderOriginalDeliveries]; got != "3" {
		t.Errorf("%s = %q, want 3 (read, reclaimed, reclaimed again)", redisbinder.HeaderOriginalDeliveries, got)
	}
	admin := redistest.Client(t, redistest.Addr(), "", "")
	key := redisbinder.StreamKey(e.prefix, dest, -1)
	waitFor(t, 5*time.Second, "nothing pending in the group", func() bool {
		s, err := admin.XPending(context.Background(), key, "g").Result()
		return err == nil && s.Count == 0
	})
}
