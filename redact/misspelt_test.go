package redact_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/streambind/streambind/redact"
)

// TestMisspeltSecretKey: a secret key with a typo (sasl.pasword) is
// refused by the binder as unknown, but streambind config and
// /actuator/config print the configuration as written, so its value was
// shown in clear.
func TestMisspeltSecretKey(t *testing.T) {
	secret := []string{
		"pasword", "passwrd", "passowrd", "passwrod", "passsword", "pssword", "paasword", "db-pasword",
		"dbPasword", "dbpasword", "keyStorePasword", "pasword-file", "passprase", "secert", "secrt",
		"client-scret", "clientsecert", "credentails", "credentals", "google-credentails", "tokn", "toekn", "tokne",
		"access-toekn",
	}
	for _, k := range secret {
		if !redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = false", k)
		}
	}
	// Words one edit from a secret word that are not misspellings of it.
	plain := []string{
		"broken", "taken", "woken", "passport", "passive", "secure", "select", "sacred",
		"concrete", "discreet", "credentials-file", "credentails-file", "credentialsfile", "crossword", "keyword",
		"partition-key-expression", "routing-key", "address", "username",
	}
	for _, k := range plain {
		if redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = true", k)
		}
	}
	tree := map[string]any{"stream": map[string]any{"binders": map[string]any{"k": map[string]any{
		"environment": map[string]any{"sasl": map[string]any{"username": "u", "pasword": "S3cr"}}}}}}
	out, _ := json.Marshal(redact.Tree(tree))
	if strings.Contains(string(out), "S3cr") {
		t.Errorf("Tree shows the value of a misspelt password key: %s", out)
	}
	if s := redact.String("login with pasword=S3cr failed"); strings.Contains(s, "S3cr") {
		t.Errorf("String shows the value of a misspelt password pair: %s", s)
	}
}
