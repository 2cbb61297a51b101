package kafka

import (
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

const fetchCap = 16

// TestFetchQueueOrderAndBackpressure: a fetcher putting more than
// fetchCap messages waits for room, and the taker gets every message
// once, in order, in batches of at most fetchCap, then sees the close.
func TestFetchQueueOrderAndBackpressure(t *testing.T) {
	q := newFetchQueue(fetchCap)
	done := make(chan struct{})
	defer close(done)
	const n = 5*fetchCap + 7
	go func() {
		defer q.close()
		for i := range n {
			m := kafkago.Message{Offset: int64(i)}
			if _, ok := q.put(&m, done); !ok {
				t.Error("put refused")
				return
			}
		}
	}()
	buf := make([]kafkago.Message, 0, fetchCap)
	next := int64(0)
	deadline := time.After(10 * time.Second)
	for {
		var ok bool
		buf, ok = q.take(buf, done)
		if !ok {
			break
		}
		if len(buf) == 0 || len(buf) > fetchCap {
			t.Fatalf("took %d messages", len(buf))
		}
		for _, m := range buf {
			if m.Offset != next {
				t.Fatalf("got offset %d, want %d", m.Offset, next)
			}
			next++
		}
		clear(buf)
		select {
		case <-deadline:
			t.Fatalf("took %d of %d in 10s", next, n)
		default:
		}
	}
	if next != n {
		t.Fatalf("took %d of %d before the close", next, n)
	}
}

// TestFetchQueueDone: a put waiting for room and a take waiting for a
// message both return false when done closes.
func TestFetchQueueDone(t *testing.T) {
	q := newFetchQueue(fetchCap)
	done := make(chan struct{})
	var m kafkago.Message
	for range fetchCap {
		if _, ok := q.put(&m, done); !ok {
			t.Fatal("put refused")
		}
	}
	putRes := make(chan bool)
	go func() {
		_, ok := q.put(&m, done)
		putRes <- ok
	}()
	empty := newFetchQueue(fetchCap)
	takeRes := make(chan bool)
	go func() {
		_, ok := empty.take(make([]kafkago.Message, 0, fetchCap), done)
		takeRes <- ok
	}()
	close(done)
	for _, ch := range []chan bool{putRes, takeRes} {
		select {
		case ok := <-ch:
			if ok {
				t.Fatal("returned true after done")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("did not return after done")
		}
	}
}
