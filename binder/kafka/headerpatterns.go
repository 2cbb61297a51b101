package kafka

import (
	"fmt"
	"strings"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// headerPatterns is a producer's header-patterns, SCSt's Kafka producer
// headerPatterns: which of a message's headers are written onto its
// record. Each pattern is a simple pattern ('*' matches any run of
// characters, anywhere in it), negated by a leading '!'; a header is
// written when the first pattern that matches it is not negated, and not
// when it is negated or none matches. As Spring Kafka's header matcher,
// names and patterns are compared without regard to case. SCSt puts
// "!id" and "!timestamp" before the patterns given, so that its
// message's id and timestamp (made anew for each Spring message) are
// never written: here they are not the patterns' either — the binder
// writes the record's id as without header-patterns (the message's, else
// a new one: the de-duplication key; none under header-mode: none), and
// never a timestamp header (the record's own timestamp is Kafka's).
// nil, as for SCSt's default "*", writes every header.
type headerPatterns []headerPattern

type headerPattern struct {
	negated bool
	glob    string // lower case
}

// parseHeaderPatterns reads header-patterns: a comma-separated list (or
// a YAML list). "*" alone, the default, is nil; so is an empty value (""
// or an empty list), as in SCSt, whose binder maps every header when
// headerPatterns is empty (Spring Boot binds "" to an empty array).
func parseHeaderPatterns(v any) (headerPatterns, error) {
	l, err := props.List(v)
	if err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, nil
	}
	var hp headerPatterns
	for _, s := range l {
		s = strings.TrimSpace(s)
		p := headerPattern{negated: strings.HasPrefix(s, "!")}
		p.glob = strings.ToLower(strings.TrimPrefix(s, "!"))
		if p.glob == "" {
			return nil, fmt.Errorf("empty pattern in %q: want a header name (* as a wildcard), optionally after a ! that negates it", strings.Join(l, ","))
		}
		hp = append(hp, p)
	}
	if len(hp) == 1 && !hp[0].negated && hp[0].glob == "*" {
		return nil, nil
	}
	return hp, nil
}

// writes says whether the header named k is written onto the record.
func (hp headerPatterns) writes(k string) bool {
	if hp == nil || k == stream.HeaderID {
		return true
	}
	if strings.EqualFold(k, "timestamp") {
		return false
	}
	for _, p := range hp {
		if simpleMatch(p.glob, k) {
			return !p.negated
		}
	}
	return false
}

// simpleMatch reports whether s matches pattern (lower case), where '*'
// matches any run of characters, case aside (Spring's
// PatternMatchUtils.simpleMatch on lower-cased names).
func simpleMatch(pattern, s string) bool {
	// Greedy matching with backtracking to the last '*', on s lower-cased
	// byte by byte (header names are ASCII in practice; others compare
	// as they are).
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && pattern[px] == '*':
			star, mark = px, sx
			px++
		case px < len(pattern) && pattern[px] == lower(s[sx]):
			px++
			sx++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
