package main

import (
	"testing"

	"github.com/streambind/streambind/internal/didyoumean"
)

// TestDidYouMeanCountsCharacters: the CLI's suggestion for a binding name
// (dlq and send/tail: "no binding X (did you mean Y?)") bounds the typo by
// a third of the candidate's characters, as internal/didyoumean does since
// it counts characters (3cbc22b), not its UTF-8 bytes: "grxxe" is 2 edits
// from the 5-character "größe", over its bound of 1, as "grxxe" is from the
// ASCII "grose" — no suggestion, as the app's misspelt-binding WARN
// (didyoumean.Near) gives none. Before, the bound was a third of größe's 7
// bytes (2), and the CLI suggested it. A non-ASCII typo within the bound
// is still suggested.
func TestDidYouMeanCountsCharacters(t *testing.T) {
	for _, c := range []struct {
		name  string
		names []string
		want  string
	}{
		{"grxxe", []string{"größe"}, ""},
		{"grxxe", []string{"grose"}, ""},
		{"gröse", []string{"größe"}, " (did you mean größe?)"},
		{"wrok-in-0", []string{"work-in-0"}, " (did you mean work-in-0?)"},
		// Two adjacent letters swapped are one edit, as in
		// internal/didyoumean: lgo is within log's bound of 1.
		{"lgo", []string{"log"}, " (did you mean log?)"},
	} {
		if got := didYouMean(c.name, c.names); got != c.want {
			t.Errorf("didYouMean(%q, %q) = %q, want %q", c.name, c.names, got, c.want)
		}
		if near := didyoumean.Near(c.name, c.names[0]); near != (c.want != "") {
			t.Errorf("didyoumean.Near(%q, %q) = %v: the test's want disagrees with the shared rule", c.name, c.names[0], near)
		}
	}
}
