package nats_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// A service redeployed with other stream settings (stream.nats.binder.stream)
// binds to the stream the earlier version created, which is used as it is:
// the binder says so with a WARN naming each differing setting, its value and
// the configured one, rather than running with the old ones in silence (a
// max-age changed from 7 days to 1 hour was kept at 7 days without a word).
// The same settings log nothing.
func TestExistingStreamWithOtherSettingsWarns(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "redeploy")

	bind := func(streamSettings map[string]any) string {
		t.Helper()
		lb := &logBuffer{}
		env := map[string]any{"servers": url}
		if streamSettings != nil {
			env["stream"] = streamSettings
		}
		b, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type, Environment: env,
			Logger: slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			t.Fatal(err)
		}
		defer closeBinder(t, b)
		if _, err := b.BindConsumer(bindCtx(t), stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType, Handler: nopHandler,
			Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}}); err != nil {
			t.Fatal(err)
		}
		return lb.String()
	}

	if log := bind(nil); strings.Contains(log, "other settings") {
		t.Fatalf("the binding that created the stream warned: %s", log)
	}
	if log := bind(nil); strings.Contains(log, "other settings") {
		t.Fatalf("a binding with the stream's own settings warned: %s", log)
	}
	log := bind(map[string]any{"max-age": "1h", "duplicate-window": "1m"})
	t.Logf("%s", log)
	for _, want := range []string{"other settings", natsbinder.StreamName(dest), "max-age 168h0m0s (configured: 1h0m0s)", "duplicate-window 2m0s (configured: 1m0s)"} {
		if !strings.Contains(log, want) {
			t.Errorf("the WARN lacks %q: %q", want, log)
		}
	}
	if strings.Contains(log, "retention") || strings.Contains(log, "replicas") {
		t.Errorf("the WARN names settings that do not differ: %q", log)
	}
	js := jsAt(t, url)
	s, err := js.Stream(bindCtx(t), natsbinder.StreamName(dest))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxAge; got != 168*time.Hour {
		t.Fatalf("the existing stream's max-age is %v, want it kept at 168h", got)
	}
}

// A service redeployed with another ack-wait updates the group's durable
// consumer, which the members of the earlier version still running share:
// they time their in-progress acks by their own ack-wait, so a lowered one
// had the messages they were handling redelivered to others (seen: every
// message an instance with ack-wait 30s held for 9s was handled twice once
// an instance with ack-wait 2s had bound). The bind that changes the durable
// says so with a WARN naming each change; a bind that changes nothing, none.
func TestChangedDurableConsumerWarns(t *testing.T) {
	natstest.Require(t)
	t.Parallel()
	url := natstest.URL()
	dest := ownDest(t, url, "rolling")

	bind := func(ext map[string]any) string {
		t.Helper()
		lb := &logBuffer{}
		b, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type, Environment: map[string]any{"servers": url},
			Logger: slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			t.Fatal(err)
		}
		defer closeBinder(t, b)
		if _, err := b.BindConsumer(bindCtx(t), stream.ConsumerSpec{Binding: "in-0", Destination: dest, Group: "g", ContentType: stream.DefaultContentType, Handler: nopHandler,
			Consumer: stream.ConsumerConfig{Concurrency: 1, MaxAttempts: 1, InstanceCount: 1}, Extension: ext}); err != nil {
			t.Fatal(err)
		}
		return lb.String()
	}
	if log := bind(map[string]any{"ack-wait": "30s"}); strings.Contains(log, "durable consumer") {
		t.Fatalf("the bind that made the durable warned: %s", log)
	}
	if log := bind(map[string]any{"ack-wait": "30s"}); strings.Contains(log, "durable consumer") {
		t.Fatalf("a bind with the durable's own settings warned: %s", log)
	}
	log := bind(map[string]any{"ack-wait": "2s", "max-deliver": 5})
	t.Logf("%s", log)
	for _, want := range []string{"durable consumer", "ack-wait 30s → 2s", "max-deliver -1 → 5"} {
		if !strings.Contains(log, want) {
			t.Errorf("the WARN lacks %q: %q", want, log)
		}
	}
	if strings.Contains(log, "max-ack-pending") || strings.Contains(log, "filter") {
		t.Errorf("the WARN names what did not change: %q", log)
	}
}
