package redis

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// A read that failed on the reader's own RESP path (respConn: a timeout, a
// reply it could not parse) leaves what the server still sends on the
// socket, unseen by go-redis, which would pool the connection again: the
// next command on it (the CLIENT ID of use) read a stale reply, a stale
// XACK count taken for the id that Stop's CLIENT UNBLOCK names. drop
// closes the network connection, so the next use dials a new one.
func TestReaderDropClosesConnectionWithUnreadReply(t *testing.T) {
	redistest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := New(ctx, stream.BinderSettings{Name: "redis", Type: Type, Environment: map[string]any{
		"address": redistest.Addr(), "key-prefix": redistest.Prefix(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	sc, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "d-in-0", Destination: "dropstale", Group: "g",
		ContentType: stream.DefaultContentType, Handler: func(context.Context, stream.Envelope) error { return nil },
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}})
	if err != nil {
		t.Fatal(err)
	}
	c := sc.(*consumer)
	rd := c.takeReader()
	defer rd.Close()
	if _, err := rd.use(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	first := rd.net.Load()
	// A request whose reply the raw path never read (it failed first),
	// still on its way when the connection is used again: a read blocked
	// for 300ms (go-redis's pool looks for bytes already arrived on a
	// plain TCP connection it hands out, not for those to come).
	key := redistest.Prefix(t) + "dropstale-never"
	req := "*3\r\n$5\r\nBLPOP\r\n$" + strconv.Itoa(len(key)) + "\r\n" + key + "\r\n$3\r\n0.3\r\n"
	if _, err := first.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	rd.drop()
	if _, err := rd.use(ctx, 5*time.Second); err != nil {
		t.Fatalf("use after drop: %v", err)
	}
	id := rd.id.Load()
	if rd.net.Load() == first {
		t.Errorf("the reader uses the connection it dropped again (CLIENT ID %d)", id)
	}
	admin := redistest.Client(t, redistest.Addr(), "", "")
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, "id="+strconv.FormatInt(id, 10)+" ") {
		t.Errorf("CLIENT ID read %d, which no client has (a stale reply)", id)
	}
}
