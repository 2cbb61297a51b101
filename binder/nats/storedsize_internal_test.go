package nats

import (
	"context"
	"strings"
	"testing"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/stream"
)

// TestStoredSizeNotOverServer: storedSize, by which Send refuses a message
// larger than its stream's max-bytes, is never more than what the server
// counts (else a message that fits would be refused), for file and memory
// storage.
func TestStoredSizeNotOverServer(t *testing.T) {
	for _, storage := range []jetstream.StorageType{jetstream.FileStorage, jetstream.MemoryStorage} {
		t.Run(storage.String(), func(t *testing.T) {
			ctx, url, dest, sb := internalBinder(t, "size")
			b := sb.(*Binder)
			b.st.stream.storage = storage
			p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: dest, ContentType: "text/plain"})
			if err != nil {
				t.Fatal(err)
			}
			pr := p.(*producer)
			nc, err := natsgo.Connect(url)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, _ := jetstream.New(nc)
			var before uint64
			for i, n := range []int{0, 10, 500} {
				m := stream.Envelope{Payload: []byte(strings.Repeat("z", n)), Headers: stream.Headers{stream.HeaderID: "id-" + strings.Repeat("q", i), "x-h": "v"}, Key: []byte("k")}
				if err := p.Send(context.Background(), m); err != nil {
					t.Fatal(err)
				}
				h, id, _ := toHeader(m, pr.contentType, pr.ids.Next)
				est := storedSize(&natsgo.Msg{Subject: pr.subject(m), Header: h, Data: m.Payload}, id, pr.ref.Load())
				s, err := js.Stream(ctx, StreamName(dest))
				if err != nil {
					t.Fatal(err)
				}
				got := s.CachedInfo().State.Bytes - before
				before = s.CachedInfo().State.Bytes
				if uint64(est) > got {
					t.Errorf("payload %d: storedSize %d, the server counts %d", n, est, got)
				}
			}
		})
	}
}
