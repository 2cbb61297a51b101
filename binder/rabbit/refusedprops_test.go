package rabbit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// refusedAlone sends 200 messages with SendAsync on a producer with one
// publishing channel, and meanwhile a Send of a message with headers bad,
// which must fail alone: permanently, with errRefusedProperty, naming
// header. None of the others fails, and each is stored once, in order.
func refusedAlone(t *testing.T, bad map[string]string, header string) {
	t.Helper()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost, "publisher-channels": 1})
	dest := uniqueDest(t, "refalone")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "ra-out-0", Destination: dest, ContentType: "text/plain",
		Producer: stream.ProducerConfig{RequiredGroups: []string{"raw"}}})
	if err != nil {
		t.Fatal(err)
	}
	var pl []string
	for i := range 200 {
		pl = append(pl, fmt.Sprint("m", i))
	}
	res := sendAll(ctx, p, nil, pl...)
	err = p.Send(ctx, stream.Envelope{Payload: []byte("bad"), Headers: bad})
	if err == nil || !stream.IsPermanent(err) || !errors.Is(err, errRefusedProperty) || !strings.Contains(err.Error(), header) {
		t.Errorf("Send with %v: %v (permanent %v), want a permanent error wrapping errRefusedProperty naming %s", bad, err, stream.IsPermanent(err), header)
	}
	for range pl {
		if r := <-res; !strings.HasSuffix(r, ": <nil>") {
			t.Errorf("another message failed: %s", r)
		}
	}
	got := drainBatched(t, rabbittest.Channel(t, vhost), dest+".raw")
	if strings.Join(got, ",") != strings.Join(pl, ",") {
		t.Errorf("stored %d messages, want the 200 others once each in order; got %q", len(got), got)
	}
}

// TestBadExpirationRefusedAlone: a Send whose amqp_expiration header is
// not a TTL RabbitMQ accepts ("-5") fails alone, before it is published,
// among 200 SendAsyncs on the same channel. Before, toPublishing set it as
// the expiration property, RabbitMQ closed the channel (406
// PRECONDITION_FAILED) and the message was published twice more, each
// closure losing the confirms of the lane's messages in flight: others
// failed permanently though stored, and were stored twice.
func TestBadExpirationRefusedAlone(t *testing.T) {
	t.Parallel()
	refusedAlone(t, map[string]string{"amqp_expiration": "-5"}, "amqp_expiration")
}

// TestOtherUserIDRefusedAlone: as TestBadExpirationRefusedAlone, for an
// amqp_userId header naming a user other than the connection's, which
// RabbitMQ refuses as user_id.
func TestOtherUserIDRefusedAlone(t *testing.T) {
	t.Parallel()
	refusedAlone(t, map[string]string{"amqp_userId": "bob"}, "amqp_userId")
}

// TestExpirationAndUserIDChecked: the values RabbitMQ accepts as an
// expiration (a whole number of milliseconds from 0 to ten years, a sign
// allowed: "-0", "+60000") and the connection's user as amqp_userId are set
// as the properties and stored; blank sets no expiration; the values the
// broker refuses fail before publishing, each with a permanent error
// naming the header, and the producer goes on.
func TestExpirationAndUserIDChecked(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	b, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "propcheck")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "pc-out-0", Destination: dest, ContentType: "text/plain",
		Producer: stream.ProducerConfig{RequiredGroups: []string{"raw"}}})
	if err != nil {
		t.Fatal(err)
	}
	ch := rabbittest.Channel(t, vhost)
	user := connUser(b.s)
	for _, c := range []struct {
		h        map[string]string
		ok       bool
		gone     bool   // expires at once: not read back
		exp, uid string // the properties stored
	}{
		{h: map[string]string{"amqp_expiration": "60000", "amqp_userId": user}, ok: true, exp: "60000", uid: user},
		{h: map[string]string{"amqp_expiration": "0"}, ok: true, gone: true}, // expired at once: accepted, not read
		{h: map[string]string{"amqp_expiration": "-0"}, ok: true, gone: true},
		{h: map[string]string{"amqp_expiration": "+60000"}, ok: true, exp: "+60000"},
		{h: map[string]string{"amqp_expiration": "0060000"}, ok: true, exp: "0060000"},
		{h: map[string]string{"amqp_expiration": "315360000000"}, ok: true, exp: "315360000000"},
		{h: map[string]string{"amqp_expiration": "  "}, ok: true},
		{h: map[string]string{"amqp_userId": ""}, ok: true},
		{h: map[string]string{"amqp_expiration": "315360000001"}},
		{h: map[string]string{"amqp_expiration": "-5"}},
		{h: map[string]string{"amqp_expiration": "abc"}},
		{h: map[string]string{"amqp_expiration": " 5"}},
		{h: map[string]string{"amqp_expiration": "5 "}},
		{h: map[string]string{"amqp_expiration": "1.5"}},
		{h: map[string]string{"amqp_expiration": "+"}},
		{h: map[string]string{"amqp_expiration": "99999999999999999999999999"}},
		{h: map[string]string{"amqp_userId": strings.ToUpper(user)}},
		{h: map[string]string{"amqp_expiration": "60000", "amqp_userId": "bob"}},
	} {
		err := p.Send(ctx, stream.Envelope{Payload: []byte("x"), Headers: c.h})
		if !c.ok {
			if !stream.IsPermanent(err) || !errors.Is(err, errRefusedProperty) {
				t.Errorf("Send with %q: %v, want it refused before publishing (permanent, errRefusedProperty)", c.h, err)
			}
			continue
		}
		if err != nil || c.gone {
			if err != nil {
				t.Errorf("Send with %q: %v", c.h, err)
			}
			continue
		}
		d := getRaw(t, ch, dest+".raw")
		if d.Expiration != c.exp || d.UserId != c.uid {
			t.Errorf("Send with %q: stored with expiration %q user_id %q, want %q and %q", c.h, d.Expiration, d.UserId, c.exp, c.uid)
		}
		for k := range d.Headers {
			if strings.HasPrefix(k, "amqp_") {
				t.Errorf("Send with %q: sent header %s", c.h, k)
			}
		}
	}
	if got := drainBatched(t, ch, dest+".raw"); len(got) > 0 {
		t.Errorf("refused messages stored: %q", got)
	}
}

// TestBatchBadExpirationRefusedAlone: on a batching producer a message
// with an amqp_expiration RabbitMQ refuses fails alone before it joins a
// batch; the others of its batch go. Before, as the batch's first message
// it gave the batch its expiration, and the whole batch failed.
func TestBatchBadExpirationRefusedAlone(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	_, tr := newTestBinder(t, map[string]any{"virtual-host": vhost})
	dest := uniqueDest(t, "batchexp")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := batchingProducer(t, ctx, tr, dest, stream.ProducerConfig{}, map[string]any{"batch-size": 3, "batch-timeout": "100ms"})
	res := sendAll(ctx, p, func(i int) map[string]string {
		if i == 0 {
			return map[string]string{"amqp_expiration": "-5"}
		}
		return nil
	}, "a", "b", "c", "d")
	results := map[string]string{}
	for range 4 {
		r := <-res
		k, v, _ := strings.Cut(r, ": ")
		results[k] = v
	}
	if !strings.Contains(results["a"], "amqp_expiration") {
		t.Errorf("a (amqp_expiration -5): %s, want refused naming the header", results["a"])
	}
	for _, k := range []string{"b", "c", "d"} {
		if results[k] != "<nil>" {
			t.Errorf("%s: %s", k, results[k])
		}
	}
	if got := drainBatched(t, rabbittest.Channel(t, vhost), dest+".raw"); strings.Join(got, ",") != "b,c,d" {
		t.Errorf("stored %q, want b, c, d", got)
	}
}

// TestRefusedPropertyBlamedOnItsMessage: when the broker closes the
// channel for a message's expiration or user_id all the same (the
// publisher does not check them: with addresses of different users the
// binder does not know the connection's user), the message the closure
// names fails at once with errRefusedProperty, and the others in flight
// on the channel are published again and succeed. Before, every message
// in flight was published again, the bad one too, twice more, each time
// closing the channel, until it failed with the closure's error.
func TestRefusedPropertyBlamedOnItsMessage(t *testing.T) {
	t.Parallel()
	for _, bad := range []amqp.Publishing{{Expiration: "-5"}, {UserId: "bob"}} {
		t.Run(fmt.Sprintf("expiration=%q,user_id=%q", bad.Expiration, bad.UserId), func(t *testing.T) {
			t.Parallel()
			vhost := rabbittest.VHost(t)
			b, _ := newTestBinder(t, map[string]any{"virtual-host": vhost, "publisher-channels": 1})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			ch := rabbittest.Channel(t, vhost)
			q := uniqueDest(t, "blame")
			if _, err := ch.QueueDeclare(q, false, false, false, false, nil); err != nil {
				t.Fatal(err)
			}
			pub := b.pub
			l := pub.lanes[0]
			const n = 200
			res := make(chan error, n)
			for i := range n {
				pub.publishAsync(ctx, l, pub.attempt("", q, false, amqp.Publishing{Body: []byte(fmt.Sprint("m", i))}),
					func(err error) { res <- err })
			}
			bad.Body = []byte("bad")
			err := pub.publishOn(ctx, l, pub.attempt("", q, false, bad))
			if !errors.Is(err, errRefusedProperty) || !isPermanent(err) {
				t.Errorf("bad message: %v, want errRefusedProperty at its first closure", err)
			}
			for range n {
				if err := <-res; err != nil {
					t.Errorf("another message failed: %v", err)
				}
			}
			seen := map[string]bool{}
			for _, s := range drainBatched(t, ch, q) {
				seen[s] = true
			}
			if seen["bad"] {
				t.Error("the bad message was stored")
			}
			for i := range n {
				if !seen[fmt.Sprint("m", i)] {
					t.Errorf("m%d not stored", i)
				}
			}
		})
	}
}
