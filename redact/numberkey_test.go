package redact_test

import (
	"testing"

	"github.com/streambind/streambind/redact"
)

// TestKeyEndingInNumber: a secret key with a number after it (a second API
// key, a numbered password) is a secret as the key without the number is;
// streambind config printed apiKey2 and api-key-2 in full while it hid
// apiKey. Keys that are not secrets stay shown with a number too.
func TestKeyEndingInNumber(t *testing.T) {
	for _, k := range []string{"apiKey2", "apikey2", "api-key-2", "API_KEY_2", "api_key02", "myApiKey3", "x-api-key-1",
		"db_pass_02", "dbPass2", "password2", "client-secret-1", "secretKey2", "key2", "auth-header-2", "myapp.apiKey2",
		"basic.auth.user.info2"} {
		if !redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = false", k)
		}
		if !redact.IsSecretValueKey(k) {
			t.Errorf("IsSecretValueKey(%q) = false", k)
		}
	}
	for _, k := range []string{"keyPrefix", "key-prefix", "key-prefix-2", "keyPrefix2", "partition-key-expression", "partition-key-2",
		"routingKey2", "routing-key-2", "public-key-2", "monkey", "monkey2", "node2", "x-original-partition", "replicas3",
		"stream.bindings.apiKey-in-0.group", "access-key-id-2", "key-file-2"} {
		if redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = true", k)
		}
	}
	// A map under a numbered secret container is hidden whole.
	out := redact.Tree(map[string]any{"myapp": map[string]any{
		"apiKey2": "zzzz9999", "api-key-2": "cccc3333", "credentials2": map[string]any{"user": "u"}, "keyPrefix": "p:",
	}}).(map[string]any)["myapp"].(map[string]any)
	if out["apiKey2"] != redact.Redacted || out["api-key-2"] != redact.Redacted || out["keyPrefix"] != "p:" ||
		out["credentials2"].(map[string]any)["user"] != redact.Redacted {
		t.Fatalf("Tree: %v", out)
	}
}
