package kafka_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logLine is one recorded log line: its logger's attributes (With) first,
// then the line's own, in order.
type logLine struct {
	time  time.Time
	level slog.Level
	msg   string
	attrs []slog.Attr
}

func (l logLine) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", l.level, l.msg)
	for _, a := range l.attrs {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Value.String())
	}
	return b.String()
}

// logRecorder records every line (debug included) logged through its
// loggers, for tests that count lines or check their form.
type logRecorder struct {
	mu    sync.Mutex
	lines []logLine
}

func (r *logRecorder) logger() *slog.Logger { return slog.New(&recordingHandler{r: r}) }

// count returns how many lines at level whose message starts with prefix
// were logged at or after since.
func (r *logRecorder) count(level slog.Level, prefix string, since time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if l.level == level && strings.HasPrefix(l.msg, prefix) && !l.time.Before(since) {
			n++
		}
	}
	return n
}

// since returns the lines at level logged at or after t.
func (r *logRecorder) since(level slog.Level, t time.Time) []logLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ls []logLine
	for _, l := range r.lines {
		if l.level == level && !l.time.Before(t) {
			ls = append(ls, l)
		}
	}
	return ls
}

// checkHygiene fails the test for a line that carries an attribute twice
// (the binder's loggers already carry binder, binding, destination and
// group), or whose message or an attribute value says "kafka: " more than
// once or carries kafka-go's call-site prefixes ("kafka.(*Client).Produce:
// "): each wrapping adds its context once.
func (r *logRecorder) checkHygiene(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	reported := map[string]bool{}
	report := func(what string, l logLine) {
		if !reported[what] {
			reported[what] = true
			t.Errorf("%s: %s", what, l)
		}
	}
	for _, l := range r.lines {
		seen := map[string]bool{}
		for _, a := range l.attrs {
			if seen[a.Key] {
				report(fmt.Sprintf("attribute %q twice in %q", a.Key, l.msg), l)
			}
			seen[a.Key] = true
		}
		texts := []string{l.msg}
		for _, a := range l.attrs {
			texts = append(texts, a.Value.String())
		}
		for _, s := range texts {
			if strings.Count(s, "kafka: ") > 1 || strings.Contains(s, "kafka.(*") {
				report(fmt.Sprintf("repeated prefix in %q", l.msg), l)
			}
		}
	}
}

type recordingHandler struct {
	r     *logRecorder
	attrs []slog.Attr
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(_ context.Context, rec slog.Record) error {
	l := logLine{time: rec.Time, level: rec.Level, msg: rec.Message, attrs: append([]slog.Attr(nil), h.attrs...)}
	rec.Attrs(func(a slog.Attr) bool {
		l.attrs = append(l.attrs, a)
		return true
	})
	h.r.mu.Lock()
	h.r.lines = append(h.r.lines, l)
	h.r.mu.Unlock()
	return nil
}

func (h *recordingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &recordingHandler{r: h.r, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

// WithGroup is not used by the binder; a group's attributes are recorded
// under their own keys.
func (h *recordingHandler) WithGroup(string) slog.Handler { return h }
