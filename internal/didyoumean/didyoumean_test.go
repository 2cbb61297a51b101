package didyoumean

import (
	"slices"
	"testing"
)

func TestNearAndSuggestions(t *testing.T) {
	for _, c := range []struct {
		key, cand string
		near      bool
	}{
		{"paymnt-in-0", "payment-in-0", true},
		{"payment_in_0", "payment-in-0", true}, // squashed alike
		{"levl", "level", true},
		{"x", "level", false},
		{"destination", "group", false},
	} {
		if got := Near(c.key, c.cand); got != c.near {
			t.Errorf("Near(%q, %q) = %v, want %v", c.key, c.cand, got, c.near)
		}
	}
	got := Suggestions("bindr", []string{"group", "binders", "binder"})
	if !slices.Equal(got, []string{"binder", "binders"}) {
		t.Errorf("Suggestions = %v, want nearest first [binder binders]", got)
	}
	if s := Suggest("bindr", []string{"group", "binders", "binder"}); s != "binder" {
		t.Errorf("Suggest = %q", s)
	}
	if s := Suggest("zzzz", []string{"group"}); s != "" {
		t.Errorf("Suggest = %q, want none", s)
	}
}

// TestDistanceInCharacters: a mistyped non-ASCII letter is one edit, and a
// candidate's length is counted in characters, so a non-ASCII typo of a key
// is suggested as its ASCII twin is (gröup as grxup).
func TestDistanceInCharacters(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"destinatión", "destination", 1},
		{"gröup", "group", 1},
		{"grüp", "grup", 1},
		{"größe", "grosse", 3}, // ö→o, ß→s, +s
		{"", "ü", 1},
	} {
		if got := Distance(c.a, c.b); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
	if !Near("gröup", "group") || !Near("grxup", "group") {
		t.Errorf("Near(gröup, group) = %v, Near(grxup, group) = %v, want both true", Near("gröup", "group"), Near("grxup", "group"))
	}
	if s := Suggest("destinatión", []string{"group", "destination"}); s != "destination" {
		t.Errorf("Suggest(destinatión) = %q, want destination", s)
	}
	// The bound is a third of the candidate's characters: "größe-in-0" has
	// 8 squashed characters (10 bytes), so 2 edits, not 3.
	if Near("grxxxein0", "größe-in-0") {
		t.Errorf("Near(grxxxein0, größe-in-0) = true, want false: 3 edits exceed a third of 8 characters")
	}
	if !Near("grxxein0", "größe-in-0") {
		t.Errorf("Near(grxxein0, größe-in-0) = false, want true: 2 edits")
	}
}

// TestTranspositionIsOneEdit: a swap of two adjacent characters is one
// edit (optimal string alignment), so lgo is near log (a 3-character
// candidate's bound is 1 edit) and gets suggested; before, it was two.
func TestTranspositionIsOneEdit(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"lgo", "log", 1},
		{"recieve", "receive", 1},
		{"gröup", "rgöup", 1},
		{"ab", "ba", 1},
		{"ca", "abc", 3}, // optimal string alignment: no edit of a swapped pair
		{"log", "log", 0},
	} {
		if got := Distance(c.a, c.b); got != c.d {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
	if s := Suggest("lgo", []string{"uppercase", "log"}); s != "log" {
		t.Errorf("Suggest(lgo) = %q, want log", s)
	}
}
