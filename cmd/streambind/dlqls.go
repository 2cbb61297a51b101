package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/streambind/streambind/stream"
)

// What dlq ls groups dead letters by (--by).
const (
	byMessage = "message" // x-exception-message as it is
	byPattern = "pattern" // x-exception-message with its IDs masked
	byType    = "type"    // x-exception-fqcn
)

// lsTopDefault is how many groups dlq ls lists by default as text: a DLQ
// of errors that carry an ID ("order 48213 not found") listed one line per
// dead letter, 3,000 lines for 3,000.
const lsTopDefault = 20

// lsGroups counts the dead letters dlq ls reads, by the key --by says.
type lsGroups struct {
	by     string
	total  int
	groups map[string]*lsGroup
}

// lsGroup is one line of dlq ls.
type lsGroup struct {
	key         string
	count       int
	first, last time.Time
	firstSeen   int
	// sample is the exception message of the first dead letter of the
	// group (the oldest, in the DLQ's order).
	sample string
	// messages holds a hash of each distinct message (--by pattern and
	// type): counted, not kept, so a DLQ of distinct messages costs 8
	// bytes a message.
	messages map[uint64]struct{}
}

func newLsGroups(by string) *lsGroups {
	return &lsGroups{by: by, groups: map[string]*lsGroup{}}
}

func (l *lsGroups) add(d stream.DeadLetter) {
	l.total++
	msg := d.Headers[stream.HeaderExceptionMessage]
	key := msg
	switch l.by {
	case byPattern:
		key = messagePattern(msg)
	case byType:
		key = d.Headers[stream.HeaderExceptionFQCN]
	}
	g := l.groups[key]
	if g == nil {
		g = &lsGroup{key: key, firstSeen: l.total, sample: msg}
		if l.by != byMessage {
			g.messages = map[uint64]struct{}{}
		}
		l.groups[key] = g
	}
	g.count++
	if g.messages != nil {
		h := fnv.New64a()
		_, _ = io.WriteString(h, msg)
		g.messages[h.Sum64()] = struct{}{}
	}
	if !d.Time.IsZero() {
		if g.first.IsZero() || d.Time.Before(g.first) {
			g.first = d.Time
		}
		if d.Time.After(g.last) {
			g.last = d.Time
		}
	}
}

// sorted lists the groups, the most frequent first, then in the order
// their first dead letters came.
func (l *lsGroups) sorted() []*lsGroup {
	list := make([]*lsGroup, 0, len(l.groups))
	for _, g := range l.groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].count != list[j].count {
			return list[i].count > list[j].count
		}
		return list[i].firstSeen < list[j].firstSeen
	})
	return list
}

// messagePattern is message s with every word that holds a digit
// replaced by "#", except a word of at most three digits and nothing else:
// "order 12345 not found" and "order o-124 not found" are both "order #
// not found", "timeout after 30s on 10.0.0.7:5672" is "timeout after # on
// #", while "status 404" and "status 503" stay apart (an HTTP status, a
// count, an attempt number tells what went wrong; an ID does not). A word
// is a run of letters, digits and - _ . : (a UUID, a host:port, a
// version), less the punctuation it ends with.
func messagePattern(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inWord := func(r rune) bool {
		return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.:", r)
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !inWord(r) {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		j := i
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if !inWord(r) {
				break
			}
			j += n
		}
		word := strings.TrimRight(s[i:j], "-_.:")
		if strings.ContainsFunc(word, unicode.IsDigit) && !shortNumber(word) {
			b.WriteString("#")
		} else {
			b.WriteString(word)
		}
		b.WriteString(s[i+len(word) : j])
		i = j
	}
	return b.String()
}

// shortNumber reports whether word is one to three ASCII digits (an HTTP
// status, a small count), which messagePattern keeps.
func shortNumber(word string) bool {
	if len(word) > 3 {
		return false
	}
	for _, c := range []byte(word) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return word != ""
}

// lsMessageJSON is a group of --by message in --format json (as ls
// printed every group before --by).
type lsMessageJSON struct {
	Exception string    `json:"exception"`
	Count     int       `json:"count"`
	First     time.Time `json:"first,omitzero"`
	Last      time.Time `json:"last,omitzero"`
}

// lsPatternJSON is a group of --by pattern in --format json.
type lsPatternJSON struct {
	Pattern  string    `json:"pattern"`
	Count    int       `json:"count"`
	Messages int       `json:"messages"`
	Sample   string    `json:"sample"`
	First    time.Time `json:"first,omitzero"`
	Last     time.Time `json:"last,omitzero"`
}

// lsTypeJSON is a group of --by type in --format json.
type lsTypeJSON struct {
	Type     string    `json:"type"`
	Count    int       `json:"count"`
	Messages int       `json:"messages"`
	Sample   string    `json:"sample"`
	First    time.Time `json:"first,omitzero"`
	Last     time.Time `json:"last,omitzero"`
}

// print prints the first top groups (0: all) of binding src's dead
// letters in where, as text or json.
func (l *lsGroups) print(w io.Writer, format, src, where string, top int) error {
	list := l.sorted()
	shown := list
	if top > 0 && len(list) > top {
		shown = list[:top]
	}
	moreGroups, moreLetters := len(list)-len(shown), 0
	for _, g := range list[len(shown):] {
		moreLetters += g.count
	}
	if format == "json" {
		groups := make([]any, 0, len(shown))
		for _, g := range shown {
			switch l.by {
			case byPattern:
				groups = append(groups, lsPatternJSON{Pattern: g.key, Count: g.count, Messages: len(g.messages), Sample: g.sample, First: g.first, Last: g.last})
			case byType:
				groups = append(groups, lsTypeJSON{Type: g.key, Count: g.count, Messages: len(g.messages), Sample: g.sample, First: g.first, Last: g.last})
			default:
				groups = append(groups, lsMessageJSON{Exception: g.key, Count: g.count, First: g.first, Last: g.last})
			}
		}
		out := map[string]any{"binding": src, "destination": where, "total": l.total, "by": l.by, "groups": len(list), "exceptions": groups}
		if moreGroups > 0 {
			out["more"] = map[string]int{"groups": moreGroups, "deadLetters": moreLetters}
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	fmt.Fprintf(w, "%d dead letter%s of %s in %s\n", l.total, plural(l.total), src, where)
	if l.total == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	switch l.by {
	case byMessage:
		fmt.Fprintln(tw, "COUNT\tFIRST\tLAST\tEXCEPTION")
		for _, g := range shown {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", g.count, when(g.first), when(g.last), oneLine(g.key))
		}
	default:
		fmt.Fprintf(tw, "COUNT\tMESSAGES\tFIRST\tLAST\t%s\tSAMPLE\n", strings.ToUpper(l.by))
		for _, g := range shown {
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", g.count, len(g.messages), when(g.first), when(g.last), oneLine(g.key), oneLine(g.sample))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if moreGroups > 0 {
		hint := "--top 0 lists them all"
		if l.by == byMessage {
			hint += "; --by pattern groups messages that differ only in their IDs, --by type by exception type"
		}
		fmt.Fprintf(w, "... %d more group%s (%d dead letter%s): %s\n", moreGroups, plural(moreGroups), moreLetters, plural(moreLetters), hint)
	}
	return nil
}
