package redis

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/redis/redistest"
	"github.com/streambind/streambind/stream"
)

// The trimmer looks after a producer's streams while a producer writes
// them, and after a consumer's for the binder's life. Before, every stream
// a producer ever wrote stayed with the trimmer: the send bridge binds a
// producer per dynamic destination and closes it on eviction, so an app
// sending to ever new destinations (a soak trial: one every 100ms, 1,100
// of them in 3 minutes) had the trimmer run XINFO and XTRIM on each of
// them every trim-interval for as long as it ran.
func TestTrimmerLetsGoOfClosedProducersStreams(t *testing.T) {
	redistest.Require(t)
	prefix := redistest.Prefix(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sb, err := New(ctx, stream.BinderSettings{Name: "redis", Type: Type, Environment: map[string]any{
		"address": redistest.Addr(), "key-prefix": prefix}})
	if err != nil {
		t.Fatal(err)
	}
	b := sb.(*Binder)
	defer b.Close(context.Background())
	bind := func(dest string) stream.Producer {
		t.Helper()
		p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: dest, ContentType: "text/plain"})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Send(ctx, stream.Envelope{Payload: []byte("m")}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	closeP := func(p stream.Producer) {
		t.Helper()
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tracked := func(dest string) bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		_, ok := b.streams[b.key(dest, -1)]
		return ok
	}
	if _, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "c-in-0", Destination: "trk.read", Group: "g",
		ContentType: stream.DefaultContentType, Handler: func(context.Context, stream.Envelope) error { return nil },
		Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}}); err != nil {
		t.Fatal(err)
	}

	closeP(bind("trk.once"))
	if tracked("trk.once") {
		t.Error("the trimmer still looks after the stream of a closed producer")
	}
	p1, p2 := bind("trk.twice"), bind("trk.twice")
	closeP(p1)
	if !tracked("trk.twice") {
		t.Error("the trimmer let go of a stream another producer still writes")
	}
	closeP(p2)
	if tracked("trk.twice") {
		t.Error("the trimmer still looks after a stream whose producers all closed")
	}
	closeP(bind("trk.read"))
	if !tracked("trk.read") {
		t.Error("the trimmer let go of a stream a consumer reads when a producer of it closed")
	}
}
