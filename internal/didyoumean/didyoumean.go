// Package didyoumean finds the known key a misspelt one most likely meant:
// the rule package config applies to every unknown key, shared with the
// packages that decode their own sections (management, telemetry).
package didyoumean

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Suggest returns the candidate closest to key, compared squashed
// (lower-case, without '-' and '_': sampling-probability, samplingProbability
// and sampling_probability are one key), or "" when none is close enough to
// be a likely typo: an edit distance of at most a third of the candidate's
// squashed length in characters, 1 to 3.
func Suggest(key string, candidates []string) string {
	k := Squash(key)
	best, bestD := "", -1
	for _, c := range candidates {
		d := Distance(k, Squash(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	if _, ok := distanceWithin(k, Squash(best)); !ok {
		return ""
	}
	return best
}

// Suggestions returns every candidate near enough to key to be a likely
// typo of it ([Near]), nearest first (then in candidates' order).
func Suggestions(key string, candidates []string) []string {
	type near struct {
		c string
		d int
	}
	k := Squash(key)
	var out []near
	for _, c := range candidates {
		if d, ok := distanceWithin(k, Squash(c)); ok {
			out = append(out, near{c, d})
		}
	}
	slices.SortStableFunc(out, func(a, b near) int { return a.d - b.d })
	names := make([]string, len(out))
	for i, n := range out {
		names[i] = n.c
	}
	return names
}

// Near reports whether key is near enough to candidate to be a likely typo
// of it: compared squashed, an edit distance of at most a third of the
// candidate's squashed length in characters, 1 to 3.
func Near(key, candidate string) bool {
	_, ok := distanceWithin(Squash(key), Squash(candidate))
	return ok
}

// distanceWithin is the distance of the squashed k and c, and whether it
// is within Near's bound.
func distanceWithin(k, c string) (int, bool) {
	d := Distance(k, c)
	return d, d <= max(1, min(3, utf8.RuneCountInString(c)/3))
}

// Squash lower-cases key and drops '-' and '_'.
func Squash(key string) string {
	var b strings.Builder
	for _, r := range key {
		if r == '-' || r == '_' {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// Distance is the edit distance of a and b in characters (runes), counting
// a swap of two adjacent characters as one edit (optimal string alignment,
// the restricted Damerau-Levenshtein distance): lgo is one edit from log,
// as lg or logg is. A mistyped non-ASCII letter (destinatión for
// destination, grüp for grup) is one edit, not the two or three of its
// UTF-8 bytes.
func Distance(as, bs string) int {
	a, b := []rune(as), []rune(bs)
	// Three rows: the one before the previous is for a transposition.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
