package secrets

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/internal/logtext"
)

func TestRedactReplacesSecretsAndKeepsChain(t *testing.T) {
	err := fmt.Errorf("dial nats://bob:hunter2@host:4222 with token tok-123: %w", io.EOF)
	got := Redact(err, []string{"", "hunter2", "tok-123"})
	for _, s := range []string{"hunter2", "tok-123"} {
		if strings.Contains(got.Error(), s) {
			t.Fatalf("secret %q in %q", s, got)
		}
	}
	if !strings.Contains(got.Error(), "token [redacted]") {
		t.Fatalf("no placeholder in %q", got)
	}
	if !errors.Is(got, io.EOF) {
		t.Fatalf("errors.Is lost the chain of %q", got)
	}
}

func TestRedactWithoutSecretsReturnsSameError(t *testing.T) {
	if Redact(nil, []string{"x"}) != nil {
		t.Fatal("nil error not nil")
	}
	err := errors.New("nothing to hide")
	if got := Redact(err, []string{"secret", ""}); got != err {
		t.Fatalf("got %v (%T), want the same error", got, got)
	}
}

func TestRedactTextURLPassword(t *testing.T) {
	got := RedactText("redis://user:pw-not-listed@127.0.0.1:6379/0", nil)
	if strings.Contains(got, "pw-not-listed") {
		t.Fatalf("URL password kept: %q", got)
	}
	if got := RedactText("a s3cr3t b", []string{"s3cr3t"}); got != "a [redacted] b" {
		t.Fatalf("got %q", got)
	}
}

func TestWrapfRedactsAndKeepsChain(t *testing.T) {
	if Wrapf([]string{"pw"}, nil, "send %s", "orders") != nil {
		t.Fatal("nil error not nil")
	}
	got := Wrapf([]string{"pw"}, fmt.Errorf("auth pw refused: %w", io.EOF), "send %s", "orders")
	if want := "send orders: auth [redacted] refused: EOF"; got.Error() != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !errors.Is(got, io.EOF) {
		t.Fatalf("errors.Is lost the chain of %q", got)
	}
}

func TestLogTextRedactsAndBounds(t *testing.T) {
	if LogText(nil, nil) != "" {
		t.Fatal("nil error not empty")
	}
	got := LogText(errors.New("pw "+strings.Repeat("x", 1<<20)), []string{"pw"})
	if !strings.HasPrefix(got, Placeholder+" ") || len(got) > logtext.Max+64 {
		t.Fatalf("got %d bytes starting %q", len(got), got[:min(len(got), 40)])
	}
}
