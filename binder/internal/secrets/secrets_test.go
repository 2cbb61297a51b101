package secrets

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
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
