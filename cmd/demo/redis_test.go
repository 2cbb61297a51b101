package main

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// redisDemo points the demo at the shared Redis server (REDIS_URL) with a
// DEMO_PREFIX of the test's own, so that its keys are the test's alone;
// they are deleted when the test ends. It returns the key prefix the
// profile makes of it ("<DEMO_PREFIX>:") and a client of that server.
func redisDemo(t *testing.T) (string, *goredis.Client) {
	t.Helper()
	redistest.Require(t)
	prefix := demoPrefix(t)
	t.Setenv("REDIS_URL", "redis://"+redistest.Addr())
	t.Setenv("DEMO_PREFIX", prefix)
	unsetenv(t, "STREAM_PROFILES_ACTIVE")
	unsetenv(t, "SPRING_PROFILES_ACTIVE")
	keyPrefix := prefix + ":"
	t.Cleanup(func() {
		if n, err := redistest.DeletePrefix(context.Background(), redistest.Addr(), "", "", keyPrefix); err != nil {
			t.Logf("cleanup of %s*: %v (%d keys deleted)", keyPrefix, err, n)
		}
	})
	return keyPrefix, redistest.Client(t, redistest.Addr(), "", "")
}

// TestDemoOnRedis runs the shop on the local Redis with keys of the test's
// own: nothing lost, every poison order dead-lettered and read by audit,
// every key under the prefix.
func TestDemoOnRedis(t *testing.T) {
	keyPrefix, rc := redisDemo(t)
	code, out, errOut, m := runDemo(t, "--profile", "redis", "--orders", "300", "--poison-every", "10", "--timeout", "60s")
	checkSummary(t, "run", "redis", []string{"300", "300", "300", "270", "270", "30", "0", "0", "0"}, code, out, errOut, m)
	ctx := context.Background()
	for _, k := range []string{"orders", "orders:0", "orders:2", "stock", "payments", "error.orders.payment"} {
		if typ, err := rc.Type(ctx, keyPrefix+k).Result(); err != nil || typ != "stream" {
			t.Errorf("key %s%s: %q, %v; want a stream", keyPrefix, k, typ, err)
		}
	}
	if n, err := rc.Exists(ctx, "orders", "error.orders.payment").Result(); err != nil || n != 0 {
		t.Errorf("keys without the prefix: %d, %v", n, err)
	}
}

// TestDemoRedisRerunAndPurge runs the shop three times with one prefix,
// as `make demo-redis` run repeatedly does, with orders left in the
// stream before the second and third runs: without --purge the second run
// handles them and counts them apart; with --purge the third run deletes
// the demo's streams first and sees none of them.
func TestDemoRedisRerunAndPurge(t *testing.T) {
	keyPrefix, rc := redisDemo(t)
	args := []string{"--profile", "redis", "--orders", "50", "--poison-every", "10", "--timeout", "60s"}
	want := []string{"50", "50", "50", "45", "45", "5", "0", "0", "0"}
	code, out, errOut, m := runDemo(t, args...)
	checkSummary(t, "first run", "redis", want, code, out, errOut, m)

	leave := func() {
		t.Helper()
		for _, o := range []OrderCreated{
			{OrderID: "o-earlier-1", CustomerID: "c-1", Quantity: 2},
			{OrderID: "o-earlier-1", CustomerID: "c-1", Quantity: 2},
			{OrderID: "o-earlier-10", CustomerID: "c-10", Quantity: 0},
		} {
			body, _ := json.Marshal(o)
			if err := rc.XAdd(context.Background(), &goredis.XAddArgs{Stream: keyPrefix + "orders",
				Values: []any{"h:contentType", "application/json", "payload", body}}).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	leave()
	code, out, errOut, m = runDemo(t, args...)
	checkSummary(t, "run without --purge", "redis", want, code, out, errOut, m)
	if om := otherRunsRE.FindStringSubmatch(errOut); om == nil {
		t.Errorf("run without --purge: the left-over orders were not handled\nstderr:\n%s", errOut)
	} else if n, _ := strconv.Atoi(om[1]); n < 6 {
		t.Errorf("run without --purge: %d messages of other runs handled, want at least 6 (inventory and shipping take all 3)", n)
	}

	leave()
	code, out, errOut, m = runDemo(t, append([]string{"--purge"}, args...)...)
	checkSummary(t, "run with --purge", "redis", want, code, out, errOut, m)
	pm := regexpPurgedStreams.FindStringSubmatch(errOut)
	if pm == nil {
		t.Fatalf("run with --purge did not say what it purged:\n%s", errOut)
	}
	if n, _ := strconv.Atoi(pm[1]); n < 3 {
		t.Errorf("purged %d messages, want at least the 3 left over", n)
	}
	if want := "redis://" + redistest.Addr() + "/0"; pm[2] != want {
		t.Errorf("purged at %s, want %s", pm[2], want)
	}
	if otherRunsRE.MatchString(errOut) {
		t.Errorf("run with --purge still handled orders of other runs:\n%s", errOut)
	}
}

// TestRedisPurgeConnectsAsTheBinder purges on a redis-server of the test's
// own that wants a password, given in url as the binder accepts it:
// --purge logs in with it, shows the server without it, deletes a
// destination's own and partition streams under the key prefix with their
// groups, and leaves alone keys that are not the destination's streams.
func TestRedisPurgeConnectsAsTheBinder(t *testing.T) {
	srv := redistest.StartServer(t, "--requirepass", "s3cret-pw")
	rc := redistest.Client(t, srv.Addr(), "", "s3cret-pw")
	ctx := context.Background()
	add := func(key string, n int) {
		t.Helper()
		for range n {
			if err := rc.XAdd(ctx, &goredis.XAddArgs{Stream: key, Values: []any{"payload", "{}"}}).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	add("p:orders", 1)
	add("p:orders:0", 2)
	add("p:orders:12", 3)
	if err := rc.XGroupCreate(ctx, "p:orders", "payment", "0").Err(); err != nil {
		t.Fatal(err)
	}
	add("p:orders:eu", 4) // another destination, not a partition
	add("orders", 5)      // no prefix: not the binder's
	if err := rc.Set(ctx, "p:orders:7", "a string", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.ZAdd(ctx, "p:"+redis.PartitionsKey, goredis.Z{Score: 13, Member: "orders"}, goredis.Z{Score: 2, Member: "orders:eu"}).Err(); err != nil {
		t.Fatal(err)
	}

	bs := stream.BinderSettings{Name: "redis", Type: redis.Type, Environment: map[string]any{
		"url": "redis://:s3cret-pw@" + srv.Addr() + "/0", "key-prefix": "p:"}}
	n, where, err := purgeRedis(ctx, bs, []string{"orders", "stock"})
	if err != nil {
		t.Fatalf("purge: %v", err)
	}
	if n != 6 {
		t.Errorf("purged %d entries, want 6 (1 + 2 + 3)", n)
	}
	if strings.Contains(where, "s3cret-pw") || !strings.HasPrefix(where, "redis://:******@"+srv.Addr()+"/0") {
		t.Errorf("purged at %q: want the server without the password", where)
	}
	if k, err := rc.Exists(ctx, "p:orders", "p:orders:0", "p:orders:12").Result(); err != nil || k != 0 {
		t.Errorf("%d of the destination's streams are left (%v)", k, err)
	}
	if k, err := rc.Exists(ctx, "p:orders:eu", "orders", "p:orders:7").Result(); err != nil || k != 3 {
		t.Errorf("%d of the 3 keys that are not the destination's streams are left (%v)", k, err)
	}
	if _, err := rc.ZScore(ctx, "p:"+redis.PartitionsKey, "orders").Result(); !errors.Is(err, goredis.Nil) {
		t.Errorf("orders is still in the partition registry (%v)", err)
	}
	if _, err := rc.ZScore(ctx, "p:"+redis.PartitionsKey, "orders:eu").Result(); err != nil {
		t.Errorf("orders:eu is gone from the partition registry: %v", err)
	}

	// A wrong password: the error does not show it.
	bs.Environment["url"] = "redis://:wr0ng-pw@" + srv.Addr()
	if _, _, err := purgeRedis(ctx, bs, []string{"orders"}); err == nil || strings.Contains(err.Error(), "wr0ng-pw") {
		t.Errorf("purge with a wrong password: %v; want an error without the password", err)
	}
	// TLS settings --purge cannot honour are refused, naming the key.
	bs.Environment = map[string]any{"address": srv.Addr(), "tls": map[string]any{"ca-file": "/x.pem"}}
	if _, _, err := purgeRedis(ctx, bs, nil); err == nil || !strings.Contains(err.Error(), "stream.binders.redis.environment.tls: TLS settings other than enabled") {
		t.Errorf("purge with a tls ca-file: %v", err)
	}
}
