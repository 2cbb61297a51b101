package nats_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestBreakLostPullRequest: a member whose client believes it has a pull
// request at the server that the server does not hold gets the waiting
// messages within a few seconds. nats.go leaves itself in that state when
// a pull's messages all arrive while it is still sending that pull (it
// skips its next one, see pullHeartbeat); under load that stalled member
// B of TestStoppedConsumerHandsBack for 10s. Here a proxy drops the
// member's second pull request, which leaves the same state every time.
func TestBreakLostPullRequest(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	px := startPullDropper(t, strings.TrimPrefix(natstest.URL(), "nats://"), 2)
	s := newStreams(t, natstest.URL())
	dest := unique(t, "lostpull")
	s.add(dest)
	b := newBinder(t, "nats://"+px.addr(), nil)
	closeBinder(t, b)
	tr := newTracker()
	startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "g", Handler: tr.handler(0),
		Extension: map[string]any{"prefetch": 4}})
	direct := newBinder(t, natstest.URL(), nil)
	closeBinder(t, direct)
	p := bindProducer(t, direct, stream.ProducerSpec{Destination: dest})
	// The first pull (4 messages) takes m-0..m-3; the second, sent after
	// the third of them, is dropped: m-4..m-7 wait for a pull.
	var want []string
	for i := range 8 {
		id := "m-" + strconv.Itoa(i)
		want = append(want, id)
		if err := p.Send(context.Background(), msg(id)); err != nil {
			t.Fatal(err)
		}
	}
	tr.wait(t, want[:4], 10*time.Second)
	// The client sends its second pull on its own goroutine, so it may
	// reach the proxy after the fourth message was handled.
	select {
	case <-px.droppedOne:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d pull requests dropped, want 1: the test's premise failed", px.dropped.Load())
	}
	// Without an idle heartbeat shorter than nats.go's default (5s, two
	// missed: 10s) they came after about 10s.
	tr.wait(t, want, 6*time.Second)
	// And on the same pull: nats.go pulled anew on it when heartbeats
	// were missed, and a pull ended then left that request at the server
	// after its drain, where a message given back could wait for
	// ack-wait (2 of 360 loaded runs of TestStoppedConsumerHandsBack).
	if inboxes := px.inboxes(); len(inboxes) != 1 {
		t.Errorf("pull requests from %d inboxes %v, want 1: the pull was ended and begun again", len(inboxes), inboxes)
	}
}

// pullDropper is a NATS-aware loopback proxy that drops one pull request
// (a publish to $JS.API.CONSUMER.MSG.NEXT.>) of its clients: the n-th.
type pullDropper struct {
	ln      net.Listener
	n       int64
	pulls   atomic.Int64
	dropped atomic.Int64
	// droppedOne is closed when the pull request is dropped.
	droppedOne chan struct{}
	mu         sync.Mutex
	replies    []string // the distinct reply subjects of pull requests
}

func (p *pullDropper) inboxes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.replies...)
}

func (p *pullDropper) addr() string { return p.ln.Addr().String() }

func startPullDropper(t testing.TB, target string, n int64) *pullDropper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pullDropper{ln: ln, n: n, droppedOne: make(chan struct{})}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, s)
				c.Close()
			}()
			go func() {
				defer wg.Done()
				p.upstream(c, s)
				s.Close()
			}()
		}
	}()
	return p
}

// upstream forwards the client's protocol to the server op by op, but for
// the pull request it drops.
func (p *pullDropper) upstream(c, s net.Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		out := line
		f := bytes.Fields(line)
		if len(f) >= 3 && (bytes.EqualFold(f[0], []byte("PUB")) || bytes.EqualFold(f[0], []byte("HPUB"))) {
			size, err := strconv.Atoi(string(f[len(f)-1]))
			if err != nil {
				return
			}
			payload := make([]byte, size+2) // and its \r\n
			if _, err := io.ReadFull(r, payload); err != nil {
				return
			}
			if bytes.HasPrefix(f[1], []byte("$JS.API.CONSUMER.MSG.NEXT.")) {
				if reply := string(f[2]); !slices.Contains(p.inboxes(), reply) {
					p.mu.Lock()
					p.replies = append(p.replies, reply)
					p.mu.Unlock()
				}
				if p.pulls.Add(1) == p.n {
					p.dropped.Add(1)
					close(p.droppedOne)
					continue
				}
			}
			out = append(line, payload...)
		}
		if _, err := s.Write(out); err != nil {
			return
		}
	}
}
