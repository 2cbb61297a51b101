package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// groupsService: payment and inventory consume one destination, each in
// a group of its own; payment dead-letters what says a reason, inventory
// takes everything.
const groupsService = `stream:
  function:
    definition: pay;stock
  output-bindings: in
%s
  bindings:
    in:
      destination: %[2]s
    pay-in-0:
      destination: %[2]s
      group: payment
      consumer:
        dlq: true
        max-attempts: 1
    stock-in-0:
      destination: %[2]s
      group: inventory
`

// groupsApp runs groupsService; pay gets payment's replayed copies,
// stock every message inventory handles.
type groupsApp struct {
	app        *stream.App
	pay, stock chan stream.Message[job]
}

func startGroupsApp(t *testing.T, dir string, env []string, opt stream.Option) *groupsApp {
	t.Helper()
	loaded, err := config.Load(config.Options{Dir: dir, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	a := &groupsApp{pay: make(chan stream.Message[job], 100), stock: make(chan stream.Message[job], 100)}
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "pay", func(_ context.Context, m stream.Message[job]) error {
		if stream.ReplayCount(m.Headers) > 0 {
			a.pay <- m
			return nil
		}
		if m.Payload.Reason != "" {
			return errors.New(m.Payload.Reason)
		}
		return nil
	})
	stream.AddConsumer(fns, "stock", func(_ context.Context, m stream.Message[job]) error {
		a.stock <- m
		return nil
	})
	app, err := stream.NewApp(loaded.Stream, fns, stream.WithoutSignals(), stream.WithLogger(slog.New(slog.DiscardHandler)), opt)
	if err != nil {
		t.Fatal(err)
	}
	a.app = app
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("app: %v", err)
		}
	})
	select {
	case <-app.Ready():
	case err := <-done:
		t.Fatalf("app ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("app not ready")
	}
	return a
}

// next is the next message inventory handled, within 30s.
func (a *groupsApp) next(t *testing.T) stream.Message[job] {
	t.Helper()
	select {
	case m := <-a.stock:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("inventory handled nothing within 30s")
		return stream.Message[job]{}
	}
}

// A replay of one group's dead letters on NATS and Redis, where every
// group of a destination reads each message, is handled by that group
// only, by its instances running meanwhile: the other groups' consumers
// acknowledge the copy without handling it (before, inventory handled
// the order a second time when payment's dead letters were replayed).
// Inventory handles in order: once it handled a message sent after the
// replay ended, it has passed the copy.
func TestDLQReplayIsForTheGroupOnly(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(t *testing.T) (binder string, env []string, opt stream.Option, dest string)
	}{
		{"nats", func(t *testing.T) (string, []string, stream.Option, string) {
			natstest.Require(t)
			dest := "dlqgroups-" + uuid.NewString()[:8]
			natstest.DeleteStreams(t, natstest.URL(), func() []string {
				return []string{nats.StreamName(dest), nats.StreamName(stream.DLQName(dest, "payment"))}
			})
			bucket := "sbtest-claims-" + strings.TrimPrefix(dest, "dlqgroups-")
			natstest.DeleteKeyValueBuckets(t, natstest.URL(), bucket)
			return `  default-binder: nats
  binders:
    nats:
      type: nats
      environment:
        servers: ${NATS_URL}
        dlq-claim-bucket: ` + bucket, []string{"NATS_URL=" + natstest.URL()}, stream.WithBinderType(nats.Type, nats.New), dest
		}},
		{"redis", func(t *testing.T) (string, []string, stream.Option, string) {
			redistest.Require(t)
			return `  default-binder: redis
  binders:
    redis:
      type: redis
      environment:
        address: ${REDIS_ADDR}
        key-prefix: ${PREFIX}`, []string{"REDIS_ADDR=" + redistest.Addr(), "PREFIX=" + redistest.Prefix(t)}, stream.WithBinderType(redis.Type, redis.New), "orders"
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			binder, env, opt, dest := c.setup(t)
			dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(groupsService, binder, dest)})
			a := startGroupsApp(t, dir, env, opt)
			send := func(j job) {
				t.Helper()
				if err := a.app.Bridge().Send(context.Background(), "in", stream.Message[job]{Payload: j}); err != nil {
					t.Fatal(err)
				}
			}
			send(job{"o-1", "card declined"})
			if m := a.next(t); m.Payload.ID != "o-1" {
				t.Fatalf("inventory handled %+v, want o-1", m.Payload)
			}
			eventually(t, "payment's dead letter", func() bool { return lsDepthOf(t, dir, env, "pay-in-0") == 1 })

			r := runWith(t, &runEnv{dir: dir, env: env}, "dlq", "replay", "--binding", "pay-in-0")
			if r.code != exitOK || !strings.Contains(r.stdout, "replayed 1 dead letter of pay-in-0") {
				t.Fatalf("replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, "for group payment only") {
				t.Errorf("replay: stderr %q; want the note that the copies are for group payment only", r.stderr)
			}
			select {
			case m := <-a.pay:
				if m.Payload.ID != "o-1" || m.Headers[stream.HeaderReplayGroup] != "payment" {
					t.Errorf("payment got %+v, headers %v", m.Payload, m.Headers)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("payment did not get its replayed copy")
			}
			send(job{"o-2", ""})
			if m := a.next(t); m.Payload.ID != "o-2" {
				t.Fatalf("inventory handled %+v (replay count %s) after the replay, want o-2 only: the copy was payment's", m.Payload, m.Headers[stream.HeaderReplayCount])
			}
			if n := lsDepthOf(t, dir, env, "pay-in-0"); n != 0 {
				t.Errorf("after replay: %d dead letters, want 0", n)
			}
		})
	}
}

// lsDepthOf is how many dead letters dlq ls counts for binding, -1 when
// it fails.
func lsDepthOf(t *testing.T, dir string, env []string, binding string) int {
	r := runWith(t, &runEnv{dir: dir, env: env}, "dlq", "ls", "--binding", binding, "--format", "json")
	var got struct{ Total int }
	if r.code != exitOK || json.Unmarshal([]byte(r.stdout), &got) != nil {
		t.Logf("dlq ls: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		return -1
	}
	return got.Total
}
