package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/binder/internal/dlclaim"
	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLettersPagesBytes: the dead-letter cursor's XRANGE pages and
// batches are bounded by bytes, not only by count: pages of 256 entries
// of 4-8 MB asked Redis for 575 MB in one reply (dlq ls timed out and the
// server stalled). Over 64 KiB entries with a 1 MiB budget (16 a page), a
// listing (Next), a replay with a limit (a claiming cursor's NextBatch
// then RemoveBatch) and a purge (NextBatch through all, then RemoveBatch)
// read the first entry alone, never read a page heavier than the budget,
// never return a batch heavier than it, and see every entry once, in the
// stream's order, removing exactly those removed. A dead letter heavier
// than the budget is returned alone.
func TestDeadLettersPagesBytes(t *testing.T) {
	t.Parallel()
	redistest.Require(t)
	prefix := redistest.Prefix(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sb, err := New(ctx, stream.BinderSettings{Name: "redis", Type: Type, Environment: map[string]any{
		"address": redistest.Addr(), "key-prefix": prefix}})
	if err != nil {
		t.Fatal(err)
	}
	b := sb.(*Binder)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	const budget, size, n = 1 << 20, 64 << 10, 200 // 12.8 MB in all
	b.dlqBytes = budget
	spec := stream.ConsumerSpec{Binding: "work-in-0", Destination: "work", Group: "g"}
	key := b.key(stream.ErrorDestinationSource(spec, "").Destination, -1)

	admin := redistest.Client(t, redistest.Addr(), "", "")
	ids := make([]string, n)
	for i := range n {
		body := bytes.Repeat([]byte{'x'}, size)
		copy(body, fmt.Sprintf("%06d", i))
		id, err := admin.XAdd(ctx, &goredis.XAddArgs{Stream: key, Values: []any{
			FieldPayload, body, HeaderFieldPrefix + stream.HeaderExceptionMessage, "too large"}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	left := func() int {
		t.Helper()
		l, err := admin.XLen(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return int(l)
	}
	check := func(what string, d stream.DeadLetter, want int) {
		t.Helper()
		if len(d.Payload) != size || string(d.Payload[:6]) != fmt.Sprintf("%06d", want) || d.ID != ids[want] {
			t.Fatalf("%s: dead letter %s (payload %.6q, %d bytes), want entry %d (%s): out of the stream's order", what, d.ID, d.Payload, len(d.Payload), want, ids[want])
		}
	}
	open := func() *redisDeadLetters {
		t.Helper()
		dl, err := b.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{})
		if err != nil {
			t.Fatal(err)
		}
		return dl.(*redisDeadLetters)
	}
	checkPages := func(what string, c *redisDeadLetters) {
		t.Helper()
		if c.peakPage > budget {
			t.Fatalf("%s: a page of entries weighed %d bytes, more than the budget %d", what, c.peakPage, budget)
		}
		if c.peakPage == 0 {
			t.Fatalf("%s: no page held more than one entry", what)
		}
	}
	// weigh checks a batch: at most the budget (payload and header fields)
	// unless it is one dead letter.
	weigh := func(what string, ds []stream.DeadLetter) {
		t.Helper()
		w := 0
		for _, d := range ds {
			w += len(FieldPayload) + len(d.Payload)
			for k, v := range d.Headers {
				w += len(HeaderFieldPrefix) + len(k) + len(v)
			}
		}
		if len(ds) > 1 && w > budget {
			t.Fatalf("%s: a batch of %d dead letters weighs %d bytes, more than the budget %d", what, len(ds), w, budget)
		}
	}

	// A listing (dlq ls): the first entry is read alone.
	c := open()
	d, err := c.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("listing", d, 0)
	if len(c.page) != 0 || c.done {
		t.Fatalf("listing: the first read took %d more entries (done %v), want the first alone", len(c.page), c.done)
	}
	for i := 1; i < n; i++ {
		d, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("listing, dead letter %d: %v", i, err)
		}
		check("listing", d, i)
	}
	if _, err := c.Next(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("listing after %d: %v, want io.EOF", n, err)
	}
	checkPages("listing", c)
	if l := left(); l != n {
		t.Fatalf("after the listing: %d entries, want %d", l, n)
	}

	// claiming opens a claiming cursor, as dlq replay and purge do.
	claiming := func() (*redisDeadLetters, stream.DeadLetterBatcher, stream.DeadLetters) {
		c := open()
		cur := dlclaim.New(ctx, c, redisLeases{c: c.c, key: key}, time.Minute, nil, nil, key)
		return c, cur, cur
	}

	// A replay with a limit: a batch at a time, each removed once read.
	const limit = 37
	c, bt, cur := claiming()
	got := 0
	for got < limit {
		ds, err := bt.NextBatch(ctx, min(128, limit-got))
		if err != nil {
			t.Fatalf("replay after %d: %v", got, err)
		}
		weigh("replay", ds)
		for _, d := range ds {
			check("replay", d, got)
			got++
		}
		if errs := bt.RemoveBatch(ctx, ds); errs != nil {
			t.Fatalf("replay: RemoveBatch: %v", errors.Join(errs...))
		}
	}
	checkPages("replay", c)
	if err := cur.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got != limit {
		t.Fatalf("replay --limit %d replayed %d", limit, got)
	}
	if l := left(); l != n-limit {
		t.Fatalf("after the replay: %d entries, want %d", l, n-limit)
	}

	// A purge: reads all, then removes them.
	c, bt, cur = claiming()
	var all []stream.DeadLetter
	for {
		ds, err := bt.NextBatch(ctx, 256)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("purge after %d: %v", len(all), err)
		}
		weigh("purge", ds)
		for _, d := range ds {
			check("purge", d, limit+len(all))
			d.Payload = nil
			all = append(all, d)
		}
	}
	checkPages("purge", c)
	if len(all) != n-limit {
		t.Fatalf("purge read %d, want %d", len(all), n-limit)
	}
	for len(all) > 0 {
		batch := all[:min(len(all), 256)]
		all = all[len(batch):]
		if errs := bt.RemoveBatch(ctx, batch); errs != nil {
			t.Fatalf("purge: RemoveBatch: %v", errors.Join(errs...))
		}
	}
	if err := cur.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if l := left(); l != 0 {
		t.Fatalf("after the purge: %d entries, want 0", l)
	}

	// A dead letter heavier than the budget is a batch of its own, and
	// one that would make a batch heavier than the budget waits for the
	// next: 64 KiB, then two of 1.5 MiB (read in one page of 16: sized
	// from the first, the page that entries larger than all before them
	// make heavier once).
	sizes := []int{size, 3 << 19, 3 << 19}
	for i, sz := range sizes {
		body := bytes.Repeat([]byte{'y'}, sz)
		copy(body, fmt.Sprintf("%06d", i))
		if _, err := admin.XAdd(ctx, &goredis.XAddArgs{Stream: key, Values: []any{FieldPayload, body}}).Result(); err != nil {
			t.Fatal(err)
		}
	}
	_, bt, cur = claiming()
	for i, sz := range sizes {
		ds, err := bt.NextBatch(ctx, 256)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if len(ds) != 1 || len(ds[0].Payload) != sz || string(ds[0].Payload[:6]) != fmt.Sprintf("%06d", i) {
			t.Fatalf("batch %d: %d dead letters (the first %.6q), want entry %d alone", i, len(ds), ds[0].Payload, i)
		}
		if errs := bt.RemoveBatch(ctx, ds); errs != nil {
			t.Fatalf("RemoveBatch: %v", errors.Join(errs...))
		}
	}
	if ds, err := bt.NextBatch(ctx, 256); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last: %d dead letters, %v; want io.EOF", len(ds), err)
	}
	if err := cur.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if l := left(); l != 0 {
		t.Fatalf("after the large ones: %d entries, want 0", l)
	}
	if claims, _, err := admin.Scan(ctx, 0, key+":dlq-claim:*", 1000).Result(); err != nil || len(claims) != 0 {
		t.Fatalf("after the purge: claims %v (%v), want none", claims, err)
	}
}
