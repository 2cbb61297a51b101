package kafka_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// partitionLine is an INFO line "kafka: partitions assigned" or
// "kafka: partitions revoked" as the JSON handler wrote it.
type partitionLine struct {
	Msg        string `json:"msg"`
	Generation int    `json:"generation"`
	Member     string `json:"member"`
	Partitions string `json:"partitions"`
	Reason     string `json:"reason"`
}

// partitionLines returns the assigned and revoked lines in buf, in order.
func partitionLines(t *testing.T, buf *syncbuf.Buffer) (assigned, revoked []partitionLine) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(buf.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l partitionLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		switch l.Msg {
		case "kafka: partitions assigned":
			assigned = append(assigned, l)
		case "kafka: partitions revoked":
			revoked = append(revoked, l)
		}
	}
	return assigned, revoked
}

// latestAssigned returns each member's last assigned line in bufs, and
// whether every member has one and they are of one generation.
func latestAssigned(t *testing.T, bufs []syncbuf.Buffer) (l []partitionLine, ok bool) {
	t.Helper()
	l = make([]partitionLine, len(bufs))
	for i := range bufs {
		as, _ := partitionLines(t, &bufs[i])
		if len(as) == 0 {
			return l, false
		}
		l[i] = as[len(as)-1]
	}
	for i := range l {
		if l[i].Generation != l[0].Generation {
			return l, false
		}
	}
	return l, true
}

// TestRebalanceLoggedAtInfo: a group member logs one INFO line when a
// generation's partitions are assigned (member, generation, the topic's
// partitions) and one when they are revoked (the same, and why: a
// rebalance, a stop), as Spring Kafka logs "partitions assigned" and
// "partitions revoked". A second member joins: the first logs the
// revocation of both partitions (rebalance) and its new assignment of
// one, the second the other; a Stop logs the revocation with reason
// stop. Before, nothing at INFO showed a rebalance.
func TestRebalanceLoggedAtInfo(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 2, nil)
	env := map[string]any{"session-timeout": "20s", "heartbeat-interval": "500ms", "rebalance-timeout": "4s"}
	nop := func(context.Context, stream.Envelope) error { return nil }
	member := func(buf *syncbuf.Buffer) stream.Consumer {
		b := newBinder(t, c, env)
		closeBinder(t, b)
		spec := consumerSpec(topic, "g", nop)
		spec.Logger = slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
		return startConsumer(t, b, spec)
	}
	both := topic + ":0,1"
	var buf1, buf2 syncbuf.Buffer
	c1 := member(&buf1)
	waitFor(t, 30*time.Second, "the first member's assignment logged", func() bool {
		a, _ := partitionLines(t, &buf1)
		return len(a) == 1
	})
	a1, _ := partitionLines(t, &buf1)
	if a1[0].Partitions != both || a1[0].Member == "" || a1[0].Generation <= 0 {
		t.Fatalf("first assignment: %+v; want partitions %s, a member and a generation", a1[0], both)
	}

	member(&buf2)
	waitFor(t, 30*time.Second, "both members' assignments after the rebalance logged", func() bool {
		a1, _ := partitionLines(t, &buf1)
		a2, _ := partitionLines(t, &buf2)
		return len(a1) == 2 && len(a2) == 1
	})
	a1, r1 := partitionLines(t, &buf1)
	a2, _ := partitionLines(t, &buf2)
	if len(r1) != 1 {
		t.Fatalf("revoked lines of the first member after the rebalance: %+v; want 1", r1)
	}
	if r := r1[0]; r.Partitions != both || r.Reason != "rebalance" || r.Generation != a1[0].Generation || r.Member != a1[0].Member {
		t.Errorf("revoked: %+v; want partitions %s, reason rebalance, generation %d, member %s", r, both, a1[0].Generation, a1[0].Member)
	}
	got := map[string]bool{a1[1].Partitions: true, a2[0].Partitions: true}
	if want := map[string]bool{topic + ":0": true, topic + ":1": true}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("assignments after the rebalance: %s and %s; want one partition each", a1[1].Partitions, a2[0].Partitions)
	}
	if a1[1].Generation <= a1[0].Generation || a2[0].Generation != a1[1].Generation || a2[0].Member == a1[1].Member {
		t.Errorf("assignments after the rebalance: %+v and %+v; want the next generation, two members", a1[1], a2[0])
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c1.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Logged before the generation's goroutine ends, which the group's
	// Close (in Stop) waits for, unless close-timeout passed.
	waitFor(t, 20*time.Second, "the revocation at Stop logged", func() bool {
		_, r := partitionLines(t, &buf1)
		return len(r) >= 2
	})
	_, r1 = partitionLines(t, &buf1)
	if len(r1) != 2 {
		t.Fatalf("revoked lines of the first member after its Stop: %+v; want 2", r1)
	}
	if r := r1[1]; r.Partitions != a1[1].Partitions || r.Reason != "stop" || r.Generation != a1[1].Generation {
		t.Errorf("revoked at Stop: %+v; want partitions %s, reason stop, generation %d", r, a1[1].Partitions, a1[1].Generation)
	}
}
