package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/bindertest"
	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bindertest.Run(t, bindertest.Harness{
		NewBinder: func(t *testing.T) stream.Binder {
			return e.binder(t, nil)
		},
		Persistent:   true,
		Duplicates:   true,
		ReplayGroups: true,
		Unsettled: func(t *testing.T, dest, group string) int {
			return unsettled(t, redisbinder.StreamKey(e.prefix, dest, -1), group)
		},
	})
}

// unsettled is how many entries of the stream at key group has not
// acknowledged: its pending entries and those past its last-delivered ID
// (its lag).
func unsettled(t *testing.T, key, group string) int {
	t.Helper()
	admin := redistest.Client(t, redistest.Addr(), "", "")
	defer admin.Close() // polled every 50ms: not one connection a poll until the test ends
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gs, err := admin.XInfoGroups(ctx, key).Result()
	if err != nil {
		t.Fatalf("XINFO GROUPS %s: %v", key, err)
	}
	for _, g := range gs {
		if g.Name == group {
			return int(g.Pending + g.Lag)
		}
	}
	t.Fatalf("group %s of %s not found", group, key)
	return 0
}
