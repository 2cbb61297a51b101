package redact

import (
	"strings"
	"testing"
)

// TestValuesShortSecret: a secret shorter than minWord ("1") is hidden
// where it is the whole text or quoted, not inside other text: it hid
// digits of addresses and of defaults (127.0.0.1:389 became
// ******27.0.0.******:389******6, a 1s default ******s, which told the
// secret), and a number leaf is hidden when it equals a secret, not when
// it holds one (max-in-flight 256 with a secret "5"). Review and newcomer
// trial of 0827ea4.
func TestValuesShortSecret(t *testing.T) {
	var v Values
	v.Add("1")
	v.Add("5")
	for in, want := range map[string]string{
		"127.0.0.1:3896": "127.0.0.1:3896",
		"1s":             "1s",
		"1":              Redacted,
		` 1 `:            Redacted,
		`expected an integer, got "1"; value …`: `expected an integer, got "` + Redacted + `"; value …`,
	} {
		if got := v.String(in); got != want {
			t.Errorf("String(%q) = %q; want %q", in, got, want)
		}
	}
	tree := v.Tree(map[string]any{"max-in-flight": 256, "attempts": 5, "port": "1"}).(map[string]any)
	if tree["max-in-flight"] != 256 || tree["attempts"] != Redacted || tree["port"] != Redacted {
		t.Errorf("Tree: %v", tree)
	}
	var long Values
	long.Add("hunter22")
	if got := long.String("host:hunter22@x"); strings.Contains(got, "hunter22") {
		t.Errorf("a longer secret inside text is still hidden: %q", got)
	}
}
