package props

import (
	"slices"
	"testing"
)

// TestResolveAliases: of a setting's aliases, the key of the highest rank
// stays; aliases of one rank are a clash and stay; a map is never dropped;
// nested sections are resolved; other types and keys are untouched.
func TestResolveAliases(t *testing.T) {
	rank := map[string]int{"maxlen": 1, "max-length": 2, "db": 1, "database": 1, "tls.skip-verify": 2, "tls.insecureSkipVerify": 1}
	m := map[string]any{"maxlen": 5, "max-length": 6, "db": 1, "database": 2, "ssl": map[string]any{}, "tls": map[string]any{"skip-verify": true, "insecureSkipVerify": false}, "prefix": "p"}
	dropped, clashes := ResolveAliases("Redis", "binder", m, func(p string) int { return rank[p] })
	if !slices.Equal(dropped, []string{"maxlen", "tls.insecureSkipVerify"}) {
		t.Errorf("dropped %v", dropped)
	}
	if len(clashes) != 1 || !slices.Equal(clashes[0].Keys, []string{"database", "db"}) {
		t.Errorf("clashes %v", clashes)
	}
	if _, ok := m["maxlen"]; ok || m["max-length"] != 6 || m["db"] != 1 || m["database"] != 2 || m["prefix"] != "p" {
		t.Errorf("map %v", m)
	}
	if d, c := ResolveAliases("memory", "binder", map[string]any{"maxlen": 1, "max-length": 2}, func(string) int { return 0 }); d != nil || c != nil {
		t.Errorf("a type without aliases: %v %v", d, c)
	}
	if Aliases("nats", "binder.dlq-stream") == nil || Aliases("nats", "Binder.DLQ_Stream") == nil {
		t.Errorf("nested section not found by its written key")
	}
	if got := AliasSections("Redis"); !slices.Equal(got, []string{"binder", "binder.ssl", "binder.tls", "consumer"}) {
		t.Errorf("AliasSections(redis) = %v", got)
	}
}
