package nats_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// A bind that lowers ack-wait counts every member of a large group that
// replied to its announcement (members-told), and does not log a
// slow-consumer error for its own reply inbox: before, replies beyond a
// 64-message channel were dropped (200 members: 121 told, and a WARN
// "slow consumer, messages dropped").
func TestReviewManyMembersTold(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t, natstest.Options{})
	dest := unique(t, "many")
	var logsA, logsB logBuffer
	a := authBinder(t, map[string]any{"servers": srv.URL()}, &logsA)
	const members = 200
	for i := range members {
		startConsumer(t, a, stream.ConsumerSpec{Binding: fmt.Sprintf("in-%d", i), Destination: dest, Group: "g",
			Extension: map[string]any{"ack-wait": "30s"},
			Handler:   func(context.Context, stream.Envelope) error { return nil }})
	}
	b := authBinder(t, map[string]any{"servers": srv.URL()}, &logsB)
	start := time.Now()
	_, err := b.BindConsumer(context.Background(), stream.ConsumerSpec{Binding: "x", Destination: dest, Group: "g", ContentType: stream.DefaultContentType,
		Extension: map[string]any{"ack-wait": "2s"},
		Handler:   func(context.Context, stream.Envelope) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bind took %s", time.Since(start))
	logs := logsB.String()
	if !regexp.MustCompile(fmt.Sprintf(`members-told=%d\b`, members)).MatchString(logs) {
		t.Errorf("the WARN does not count %d members told:\n%s", members, logs)
	}
	if strings.Contains(logs, "slow consumer") {
		t.Errorf("the bind's reply inbox was a slow consumer:\n%s", logs)
	}
}
