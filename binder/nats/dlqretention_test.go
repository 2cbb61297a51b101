package nats_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLettersOfReaderLeavesDeadLetters: under stream retention
// workqueue or interest, a dead-letters-of reader (a group of its own on
// the dead-letter subject) and streambind dlq's cursor read the dead
// letters and leave them in their stream, whichever of the reader and the
// dead-lettering binding binds first; the dead-letter stream has limits
// retention and dlq-stream's limits (default: max-age 168h, no count or
// size limit), not the destinations' stream.max-age and max-msgs. The
// dead-letter stream was made with the binder's workqueue retention (and
// with interest when the reader made it), so the reader's group removed
// each dead letter it acknowledged: streambind dlq ls went from 1 to 0
// without a word; and it expired with the destination's messages (1h,
// 1000 here).
func TestDeadLettersOfReaderLeavesDeadLetters(t *testing.T) {
	for _, retention := range []string{"workqueue", "interest"} {
		for _, readerFirst := range []bool{false, true} {
			name := retention + "/source-first"
			if readerFirst {
				name = retention + "/reader-first"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				deadLettersOfReader(t, retention, readerFirst)
			})
		}
	}
}

func deadLettersOfReader(t *testing.T, retention string, readerFirst bool) {
	natstest.Require(t)
	lb := &logBuffer{}
	s := newStreams(t, natstest.URL())
	nb, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type,
		Environment: map[string]any{"servers": natstest.URL(), "stream": map[string]any{"retention": retention, "max-age": "1h", "max-msgs": 1000}},
		Logger:      slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	bd := tracked{nb, s}
	closeBinder(t, bd)
	dest := unique(t, "stock")
	dlq := stream.DLQName(dest, "g")
	s.add(dest)
	s.add(dlq)

	read := make(chan string, 10)
	reader := func() {
		startConsumer(t, bd, stream.ConsumerSpec{Binding: "audit-in-0", Destination: dlq, Group: "audit",
			Handler: func(_ context.Context, m stream.Envelope) error {
				read <- m.Headers[idHeader]
				return nil
			},
			Consumer: stream.ConsumerConfig{DeadLettersOf: "reserveStock-in-0"}})
	}
	if readerFirst {
		reader()
	}
	source := stream.ConsumerSpec{Binding: "reserveStock-in-0", Destination: dest, Group: "g",
		Handler:  func(context.Context, stream.Envelope) error { return errors.New("poison") },
		Consumer: stream.ConsumerConfig{DLQ: true}}
	startConsumer(t, bd, source)
	if !readerFirst {
		reader()
	}
	p := bindProducer(t, bd, stream.ProducerSpec{Destination: dest})
	ctx := bindCtx(t)
	if err := p.Send(ctx, msg("dead-1")); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-read:
		if id != "dead-1" {
			t.Fatalf("the reader got %q", id)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the dead-letters-of reader got no dead letter")
	}

	js := jsAt(t, natstest.URL())
	dlqStream := natsbinder.StreamName(dlq)
	// The reader's acknowledgement has reached the server.
	waitFor(t, 10*time.Second, "the reader's acknowledgement", func() bool {
		c, err := js.Consumer(ctx, dlqStream, natsbinder.DurableName("audit", -1))
		if err != nil {
			return false
		}
		ci, err := c.Info(ctx)
		return err == nil && ci.AckFloor.Stream >= 1 && ci.NumAckPending == 0
	})
	held := func(when string) {
		t.Helper()
		st, err := js.Stream(ctx, dlqStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != 1 {
			t.Errorf("%s: the dead-letter stream %s (retention %s) holds %d dead letters of %d; want 1 kept", when, dlqStream, info.Config.Retention, info.State.Msgs, info.State.LastSeq)
		}
		c := info.Config
		if c.Retention != jetstream.LimitsPolicy || c.MaxAge != natsbinder.DefaultMaxAge || c.MaxMsgs != -1 || c.MaxBytes != -1 {
			t.Errorf("the dead-letter stream was made with retention %s, max-age %s, max-msgs %d, max-bytes %d; want limits, 168h, -1, -1 (not the destinations' %s, 1h, 1000)",
				c.Retention, c.MaxAge, c.MaxMsgs, c.MaxBytes, retention)
		}
	}
	held("after the reader acknowledged it")

	// streambind dlq ls: a plain cursor.
	for range 2 {
		cur, err := nb.(*natsbinder.Binder).OpenDeadLetters(ctx, source, stream.DeadLetterOpen{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			if _, err := cur.Next(ctx); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if err := cur.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("dlq ls listed %d dead letters, want 1", n)
		}
	}
	held("after dlq ls")

	// The destination's own stream keeps the configured settings.
	st, err := js.Stream(ctx, natsbinder.StreamName(dest))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]jetstream.RetentionPolicy{"workqueue": jetstream.WorkQueuePolicy, "interest": jetstream.InterestPolicy}[retention]
	if c := st.CachedInfo().Config; c.Retention != want || c.MaxAge != time.Hour || c.MaxMsgs != 1000 {
		t.Errorf("the destination's stream: retention %s, max-age %s, max-msgs %d; want %s, 1h, 1000", c.Retention, c.MaxAge, c.MaxMsgs, retention)
	}
	// The binder made the dead-letter stream itself: nothing to warn of.
	if strings.Contains(lb.String(), "dead-letter stream exists") {
		t.Errorf("a WARN about the dead-letter stream the binder made: %s", lb.String())
	}
}

// TestExistingDeadLetterStreamRetentionWarns: a dead-letter stream that
// exists with workqueue or interest retention (made by hand, or by a
// streambind of before this change under workqueue) is used as it is,
// not changed, and both the dead-lettering binding and a dead-letters-of
// reader say so at bind with a WARN that names the stream and what
// follows: the reader's acknowledgements remove the dead letters. A
// limits stream with dlq-stream's limits gets no WARN; one with another
// max-age gets the WARN of differing settings, compared with dlq-stream
// (not with stream.max-age, which is the destinations').
func TestExistingDeadLetterStreamRetentionWarns(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	js := jsAt(t, url)
	for _, c := range []struct {
		retention jetstream.RetentionPolicy
		maxAge    time.Duration
		want      []string // in the WARN lines; none: no WARN
	}{
		{jetstream.WorkQueuePolicy, natsbinder.DefaultMaxAge, []string{"dead-letter stream exists with workqueue retention", "removes each dead letter it acknowledges", "retention=workqueue"}},
		{jetstream.InterestPolicy, natsbinder.DefaultMaxAge, []string{"dead-letter stream exists with interest retention", "dropped once every consumer of the stream has acknowledged it", "retention=interest"}},
		{jetstream.LimitsPolicy, natsbinder.DefaultMaxAge, nil},
		{jetstream.LimitsPolicy, time.Hour, []string{"dead-letter stream exists with other settings", "max-age 1h0m0s (configured: 168h0m0s)"}},
	} {
		dest := ownDest(t, url, "existing")
		dlq := stream.DLQName(dest, "g")
		dlqStream := natsbinder.StreamName(dlq)
		newStreams(t, url).add(dlq)
		if _, err := js.CreateStream(bindCtx(t), jetstream.StreamConfig{Name: dlqStream, Subjects: []string{dlq, dlq + ".>"},
			Retention: c.retention, MaxAge: c.maxAge, MaxMsgs: -1, MaxBytes: -1, MaxMsgSize: -1, Duplicates: natsbinder.DefaultDuplicateWindow}); err != nil {
			t.Fatal(err)
		}
		for _, spec := range []stream.ConsumerSpec{
			{Binding: "reserveStock-in-0", Destination: dest, Group: "g", Consumer: stream.ConsumerConfig{DLQ: true}},
			{Binding: "audit-in-0", Destination: dlq, Group: "audit", Consumer: stream.ConsumerConfig{DeadLettersOf: "reserveStock-in-0"}},
		} {
			lb := &logBuffer{}
			// stream.max-age 1h: the destinations', not compared with the dead-letter stream's.
			b, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type,
				Environment: map[string]any{"servers": url, "stream": map[string]any{"retention": "workqueue", "max-age": "1h"}},
				Logger:      slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			if err != nil {
				t.Fatal(err)
			}
			closeBinder(t, b)
			spec.ContentType, spec.Handler = stream.DefaultContentType, nopHandler
			spec.Consumer.Concurrency, spec.Consumer.MaxAttempts, spec.Consumer.InstanceCount = 1, 1, 1
			if _, err := b.BindConsumer(bindCtx(t), spec); err != nil {
				t.Fatal(err)
			}
			log := lb.String()
			what := c.retention.String() + " " + c.maxAge.String() + ", " + spec.Binding
			if c.want == nil && strings.Contains(log, dlqStream) {
				t.Errorf("%s: a WARN about the dead-letter stream: %s", what, log)
			}
			for _, w := range append(c.want, dlqStream) {
				if c.want != nil && !strings.Contains(log, w) {
					t.Errorf("%s: the WARN lacks %q: %s", what, w, log)
				}
			}
			if c.retention != jetstream.LimitsPolicy && strings.Contains(log, "other settings") {
				t.Errorf("%s: the retention is warned of twice: %s", what, log)
			}
		}
		s, err := js.Stream(bindCtx(t), dlqStream)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.CachedInfo().Config; got.Retention != c.retention || got.MaxAge != c.maxAge {
			t.Errorf("the existing dead-letter stream was changed: retention %s, max-age %s", got.Retention, got.MaxAge)
		}
	}
}

// TestDeadLetterStreamSettings: binder setting dlq-stream gives the
// dead-letter streams' max-age, max-msgs and max-bytes; the destinations'
// streams keep stream's; the binding says which stream its dead letters go
// to (dlq_stream, for the "binding bound" line), also when the subject
// holds '_' and the name gets a hash suffix.
func TestDeadLetterStreamSettings(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	b, _ := shared(t, map[string]any{"stream": map[string]any{"max-age": "1h", "max-bytes": "1MB"},
		"dlq-stream": map[string]any{"max-age": "720h", "max-msgs": 5000, "max-bytes": "1GB"}})
	dest := unique(t, "trial_orders")
	c := startConsumer(t, b, stream.ConsumerSpec{Destination: dest, Group: "inventory", Handler: nopHandler, Consumer: stream.ConsumerConfig{DLQ: true}})
	dlqStream := natsbinder.StreamName(stream.DLQName(dest, "inventory"))
	if !strings.Contains(dlqStream, "-") || strings.HasSuffix(dlqStream, "inventory") {
		t.Fatalf("want a hash suffix: %s", dlqStream)
	}
	desc := c.(stream.BindingDescriber).DescribeBinding()
	if desc["dlq_stream"] != dlqStream || desc["stream"] != natsbinder.StreamName(dest) || desc["dlq"] != stream.DLQName(dest, "inventory") {
		t.Errorf("DescribeBinding() = %v; want dlq_stream %s, stream %s", desc, dlqStream, natsbinder.StreamName(dest))
	}
	js := jsAt(t, natstest.URL())
	s, err := js.Stream(bindCtx(t), dlqStream)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config; got.MaxAge != 720*time.Hour || got.MaxMsgs != 5000 || got.MaxBytes != 1<<30 || got.Retention != jetstream.LimitsPolicy {
		t.Errorf("dead-letter stream: max-age %s, max-msgs %d, max-bytes %d, retention %s; want 720h, 5000, 1GB, limits", got.MaxAge, got.MaxMsgs, got.MaxBytes, got.Retention)
	}
	if s, err = js.Stream(bindCtx(t), natsbinder.StreamName(dest)); err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config; got.MaxAge != time.Hour || got.MaxMsgs != -1 || got.MaxBytes != 1<<20 {
		t.Errorf("destination stream: max-age %s, max-msgs %d, max-bytes %d; want 1h, -1, 1MB", got.MaxAge, got.MaxMsgs, got.MaxBytes)
	}
}
