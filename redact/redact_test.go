package redact_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/redact"
)

func TestString(t *testing.T) {
	cases := map[string]string{
		"amqp://guest:guest@127.0.0.1:5672/":            "amqp://guest:******@127.0.0.1:5672/",
		"dial amqps://u:p%40ss@h:5671/vh: refused":      "dial amqps://u:******@h:5671/vh: refused",
		"no secret here":                                "no secret here",
		"user@example.com":                              "user@example.com",
		"kafka://a:b@h1:9092,amqp://c:d@h2:5672 failed": "kafka://a:******@h1:9092,amqp://c:******@h2:5672 failed",
		"redis://:s3cret@cache:6379":                    "redis://:******@cache:6379",
		"amqp://user:p@ss@host:5672/vh":                 "amqp://user:******@host:5672/vh",
	}
	for in, want := range cases {
		if got := redact.String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTree(t *testing.T) {
	in := map[string]any{"stream": map[string]any{"binders": map[string]any{"k": map[string]any{"environment": map[string]any{
		"brokers": "h:9092", "sasl": map[string]any{"username": "u", "password": "p4ss"}, "ssl-key-password": "k3y",
		"uris": []any{"amqp://u:p4ss@h/"}, "token": 12345}}}}}
	out := redact.Tree(in)
	s := fmt.Sprint(out)
	for _, secret := range []string{"p4ss", "k3y", "12345"} {
		if strings.Contains(s, secret) {
			t.Fatalf("%q survives: %s", secret, s)
		}
	}
	if !strings.Contains(s, "h:9092") || !strings.Contains(s, "u") {
		t.Fatalf("non-secrets removed: %s", s)
	}
	if in["stream"].(map[string]any)["binders"].(map[string]any)["k"].(map[string]any)["environment"].(map[string]any)["token"] != 12345 {
		t.Fatal("Tree modified its input")
	}
}
