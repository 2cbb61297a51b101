package redact_test

import (
	"testing"

	"github.com/streambind/streambind/redact"
)

// TestKeyEndingInVersion: a secret key with a version after it (api-key-v2,
// apiKeyV2, x-api-key-v1: a second API key, a rotated one) is a secret as
// the key without the version is, as apiKey2 is; they were printed in full
// (streambind config, dlq show and tail headers). Keys that are not
// secrets stay shown with a version too, and a glued lower-case v (as
// viper delivers keys) is not taken for one.
func TestKeyEndingInVersion(t *testing.T) {
	for _, k := range []string{"apiKeyV2", "api-key-v2", "API_KEY_V2", "x-api-key-v1", "signing-key-v3",
		"hmac-key-v2", "sharedAccessKeyV2", "cookie-v2", "myapp.apiKeyV2", "x-api-key-v10"} {
		if !redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = false", k)
		}
		if !redact.IsSecretValueKey(k) {
			t.Errorf("IsSecretValueKey(%q) = false", k)
		}
	}
	for _, k := range []string{"routing-key-v2", "routingKeyV2", "partition-key-v2", "key-prefix-v2", "tls-v1",
		"protocol-v2", "schema-v2", "access-key-id-v2", "cookie-name-v2", "devkey2", "key-serializer-v2"} {
		if redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = true", k)
		}
	}
	// A map under a versioned secret container is hidden whole.
	out := redact.Tree(map[string]any{"myapp": map[string]any{
		"api-keys-v2": map[string]any{"service-a": "zzzz9999"}, "keyPrefixV2": "p:",
	}}).(map[string]any)["myapp"].(map[string]any)
	if out["api-keys-v2"].(map[string]any)["service-a"] != redact.Redacted || out["keyPrefixV2"] != "p:" {
		t.Fatalf("Tree: %v", out)
	}
}

// TestNumberedKeyHoldingSeveral: a key that holds several secrets keeps
// doing so with a number after it (secrets2, api-keys-2, passwords-v2), and
// oauth2 is Spring Boot's spring.security.oauth2 namespace: neither is one
// secret value, which a list or map there would be refused as (the
// loader's check); their values are still hidden.
func TestNumberedKeyHoldingSeveral(t *testing.T) {
	for _, k := range []string{"spring.security.oauth2", "oauth2", "secrets2", "api-keys-2", "passwords-v2", "tokens2"} {
		if redact.IsSecretValueKey(k) {
			t.Errorf("IsSecretValueKey(%q) = true", k)
		}
	}
	for _, k := range []string{"oauth2", "secrets2", "api-keys-2", "key2", "password2", "auth2"} {
		if !redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = false", k)
		}
	}
	for _, k := range []string{"key2", "password2", "apiKeyV2", "auth-header-2"} {
		if !redact.IsSecretValueKey(k) {
			t.Errorf("IsSecretValueKey(%q) = false", k)
		}
	}
}
