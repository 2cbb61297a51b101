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
