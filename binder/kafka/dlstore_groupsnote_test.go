package kafka_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/stream"
)

// TestDeadLettersNewGroupNoteLookupFailed: the warning for a --group that
// never committed names the groups that have committed on the topic;
// when looking one up fails (here group other, which committed, answers
// the offset fetch with GROUP_AUTHORIZATION_FAILED, as under an ACL
// without Describe on it) it says that it could not list them, with the
// error. The failure was ignored and the warning said "no other group
// has committed on <topic> either", which was false.
func TestDeadLettersNewGroupNoteLookupFailed(t *testing.T) {
	t.Parallel()
	c, b, spec, dlq := deadLetterSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	produceDeadLetters(ctx, t, c, dlq, 3)
	bd := b.(*kafka.Binder)
	// Group other removes one: it has committed on the topic.
	dl, err := bd.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{Group: "other"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dl.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := dl.Remove(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := dl.Close(ctx); err != nil {
		t.Fatal(err)
	}

	faulted := make(chan struct{})
	c.Kfake.ControlKey(int16(kmsg.OffsetFetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		r := req.(*kmsg.OffsetFetchRequest)
		other := r.Group == "other"
		for _, g := range r.Groups {
			other = other || g.Group == "other"
		}
		if !other {
			c.Kfake.KeepControl()
			return nil, nil, false
		}
		resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		for _, g := range r.Groups {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group, rg.ErrorCode = g.Group, kerr.GroupAuthorizationFailed.Code
			resp.Groups = append(resp.Groups, rg)
		}
		close(faulted)
		return resp, nil, true
	})
	var (
		mu    sync.Mutex
		notes []string
	)
	dl, err = bd.OpenDeadLetters(ctx, spec, stream.DeadLetterOpen{Group: "fresh", Notice: func(_ slog.Level, msg string) {
		mu.Lock()
		defer mu.Unlock()
		notes = append(notes, msg)
	}})
	if err != nil {
		t.Fatal(err)
	}
	_ = dl.Close(ctx)
	select {
	case <-faulted:
	default:
		t.Fatal("group other's offsets were not fetched")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(notes) != 1 || !strings.Contains(notes[0], "group fresh has never removed a dead letter of "+dlq) ||
		!strings.Contains(notes[0], "could not list the groups: offsets of group other: ") || !strings.Contains(notes[0], "Group Authorization Failed") ||
		strings.Contains(notes[0], "no other group has committed") {
		t.Errorf("notes %q; want one saying the groups could not be listed, and why", notes)
	}
}
