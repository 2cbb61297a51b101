package redact_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/streambind/streambind/redact"
)

// A NATS credentials file as nsc writes it (a made-up user JWT and seed).
const (
	testUserJWT  = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJTM2NySldUIn0.S3crSig"
	testUserSeed = "SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU"
	testCreds    = "-----BEGIN NATS USER JWT-----\n" + testUserJWT + "\n------END NATS USER JWT------\n\n" +
		"************************* IMPORTANT *************************\n" +
		"NKEY Seed printed below can be used to sign and prove identity.\n\n" +
		"-----BEGIN USER NKEY SEED-----\n" + testUserSeed + "\n------END USER NKEY SEED------\n"
)

// TestNATSCredentialsContents: the contents of a NATS .creds file (its
// nkey seed is a private key) set under a key that names no secret
// (myapp.creds, nats-creds) were shown whole by Tree (/actuator/config
// with show-values: always) and Value, and a seed in a log line or error
// by String; PEM private keys were hidden, nkey seeds were not.
func TestNATSCredentialsContents(t *testing.T) {
	leaks := func(s string) bool {
		return strings.Contains(s, testUserSeed) || strings.Contains(s, "S3cr") || strings.Contains(s, testUserSeed[:20])
	}
	for _, v := range []string{testCreds, testUserSeed, "seed " + testUserSeed + " in use",
		"-----BEGIN USER NKEY SEED-----\n" + testUserSeed[:30]} { // cut short
		if got := redact.Value(v); leaks(got) {
			t.Errorf("Value(%q) = %q", v, got)
		}
		if got := redact.String("nats: bad credentials: " + v); leaks(got) {
			t.Errorf("String(%q) = %q", v, got)
		}
	}
	out, _ := json.Marshal(redact.Tree(map[string]any{"myapp": map[string]any{"creds": testCreds, "nats-creds": []any{testUserSeed}}}))
	if leaks(string(out)) {
		t.Errorf("Tree shows the credentials: %s", out)
	}
	// Text around them stays, and what only looks a little like a seed
	// is kept.
	if got := redact.Value(testCreds); !strings.Contains(got, "IMPORTANT") {
		t.Errorf("Value(creds) = %q: the text between the blocks is gone", got)
	}
	for _, keep := range []string{"SASL PLAIN", "SUBSCRIBE orders", "SCRAM-SHA-512", "STREAMBIND_NATS_SERVERS", strings.Repeat("SU", 20)} {
		if got := redact.String(keep); got != keep {
			t.Errorf("String(%q) = %q", keep, got)
		}
	}
}
