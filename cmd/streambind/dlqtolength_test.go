package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestDLQReplayToLongNameNotRabbit: the 255-byte limit of replay's --to is
// RabbitMQ's (an exchange name is an AMQP short string); it was applied on
// every binder, refusing a 300-byte --to (a NATS subject, a Redis key may
// be that long) as a usage error. On the in-process binder it is taken.
func TestDLQReplayToLongNameNotRabbit(t *testing.T) {
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
	a.sendPoison(t, 1)
	a.waitDeadLettered(t, 1, depth)

	to := strings.Repeat("x", 300)
	r := runWith(t, &runEnv{dir: dir, binders: factories}, "dlq", "replay", "--binding", "work-in-0", "--dry-run", "--to", to)
	if r.code != exitOK || !strings.Contains(r.stdout, "would replay dead letter") || !strings.Contains(r.stdout, " to "+to) {
		t.Errorf("replay --to <300 bytes> --dry-run: exit %d, stdout %q, stderr %q; want the dead letter listed for it", r.code, r.stdout, r.stderr)
	}
	if depth() != 1 {
		t.Errorf("the dry run changed the dead letters: %d, want 1", depth())
	}
}
