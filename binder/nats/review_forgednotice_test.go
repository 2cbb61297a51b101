package nats_test

import (
	"context"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// An announcement of a lowered ack-wait below what any bind can announce
// (ack-wait is at least 1s) — a stray or forged message on
// _STREAMBIND.ACKWAIT.<stream>.<durable>, which any client of the account
// may publish — must not make the member take every message it receives
// for lapsed for announceHold: the server's ack-wait is unchanged, so they
// would be redelivered only after it, 30s later.
func TestReviewTinyAnnouncementIgnored(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "tiny")
	var logs logBuffer
	b := authBinder(t, map[string]any{"servers": url}, &logs)
	tr := newTracker()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(0)})

	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// The member replies to an announcement it takes; it need not reply to
	// this one: the request's timeout lets it see it either way.
	_, _ = nc.Request("_STREAMBIND.ACKWAIT."+natsbinder.StreamName(dest)+".g", []byte("1ms"), time.Second)
	p := bindProducer(t, b, stream.ProducerSpec{Destination: dest})
	ids := []string{"a", "b", "c"}
	for _, id := range ids {
		if err := p.Send(context.Background(), msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	tr.wait(t, ids, 10*time.Second)
}
