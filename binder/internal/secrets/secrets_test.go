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
	if !strings.Contains(got.Error(), "token ******") {
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
	if got := RedactText("a s3cr3t b", []string{"s3cr3t"}); got != "a ****** b" {
		t.Fatalf("got %q", got)
	}
}

func TestWrapfRedactsAndKeepsChain(t *testing.T) {
	if Wrapf([]string{"s3cret"}, nil, "send %s", "orders") != nil {
		t.Fatal("nil error not nil")
	}
	got := Wrapf([]string{"s3cret"}, fmt.Errorf("auth s3cret refused: %w", io.EOF), "send %s", "orders")
	if want := "send orders: auth ****** refused: EOF"; got.Error() != want {
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
	got := LogText(errors.New("s3cret "+strings.Repeat("x", 1<<20)), []string{"s3cret"})
	if !strings.HasPrefix(got, Placeholder+" ") || len(got) > logtext.Max+64 {
		t.Fatalf("got %d bytes starting %q", len(got), got[:min(len(got), 40)])
	}
}

// TestRedactShortSecretDoesNotMangle: a one-letter password is hidden where
// it stands as a password (a URL's user info, a password= pair), not in
// every word that holds its letter.
func TestRedactShortSecretDoesNotMangle(t *testing.T) {
	err := fmt.Errorf("dial nats://demo:a@127.0.0.1:1: connect: connection refused; auth password=a refused: %w", io.EOF)
	got := Redact(err, []string{"a"})
	want := "dial nats://demo:******@127.0.0.1:1: connect: connection refused; auth password=****** refused: EOF"
	if got.Error() != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if !errors.Is(got, io.EOF) {
		t.Fatalf("errors.Is lost the chain of %q", got)
	}
}
