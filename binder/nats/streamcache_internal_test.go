package nats

import (
	"strconv"
	"testing"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// The binder's cache of destinations' streams is bounded: an app that
// sends through the send bridge to ever new dynamic destinations binds a
// producer for each and closes it when the bridge's cache evicts it, and
// before the bound every one of them stayed in the binder's cache for as
// long as the app ran (a soak trial: 815 dynamic destinations, 13k more
// live heap objects). A destination dropped from the cache still binds.
func TestStreamCacheBounded(t *testing.T) {
	ctx, url, dest, sb := internalBinder(t, "cache")
	b := sb.(*Binder)
	b.streamCacheSize = 2
	var dests []string
	for i := range 5 {
		dests = append(dests, dest+strconv.Itoa(i))
	}
	natstest.DeleteStreams(t, url, func() []string {
		var names []string
		for _, d := range dests {
			names = append(names, StreamName(d))
		}
		return names
	})
	bindSend := func(d string) {
		t.Helper()
		p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: d, ContentType: "text/plain"})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Send(ctx, stream.Envelope{Payload: []byte("m")}); err != nil {
			t.Fatalf("send to %s: %v", d, err)
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range dests {
		bindSend(d)
	}
	b.provMu.Lock()
	n := len(b.streams)
	b.provMu.Unlock()
	if n > 2 {
		t.Fatalf("the stream cache holds %d destinations after 5 producers were bound and closed, want at most 2", n)
	}
	bindSend(dests[0])
}
