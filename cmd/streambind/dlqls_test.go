package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestDLQLsGroupsIDsRedis: dlq ls of a DLQ whose errors carry an ID
// ("order 1000 not found", "order 1001 not found", ...) printed one line a
// dead letter (3,000 lines for 3,000). Now it lists the 20 largest groups
// and counts the rest, pointing at --by; --by pattern makes the IDs one
// group, --by type groups by x-exception-fqcn, each with how many distinct
// messages and a sample; --format json lists every group unless --top is
// given.
func TestDLQLsGroupsIDsRedis(t *testing.T) {
	t.Parallel()
	dir, env, opt, depth := redisService(t)
	a := startDLQApp(t, dir, env, opt)
	a.send(t, "c", job{"d1", "card declined"}, job{"d2", "card declined"}, job{"d3", "card declined"})
	for i := range 30 {
		a.send(t, "c", job{fmt.Sprint(i), fmt.Sprintf("order %d not found", 1000+i)})
	}
	a.waitDeadLettered(t, 33, depth)

	ls := func(args ...string) string {
		t.Helper()
		r := runWith(t, &runEnv{env: env, dir: dir}, append([]string{"dlq", "ls", "--binding", "work-in-0"}, args...)...)
		if r.code != exitOK {
			t.Fatalf("ls %v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		return r.stdout
	}
	const ts = `20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ`

	// By message (the default): 31 groups, 20 listed, the largest first.
	out := ls()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1+1+20+1 {
		t.Fatalf("ls: %d lines, want the title, the header, 20 groups and the rest's count:\n%s", len(lines), out)
	}
	if !regexp.MustCompile(`^3 +`+ts+` +`+ts+` +card declined$`).MatchString(lines[2]) ||
		!regexp.MustCompile(`^1 +`+ts+` +`+ts+` +order 1000 not found$`).MatchString(lines[3]) {
		t.Errorf("ls: want card declined (3), then order 1000 not found (1):\n%s", out)
	}
	if want := "... 11 more groups (11 dead letters): --top 0 lists them all; --by pattern groups messages that differ only in their IDs, --by type by exception type"; lines[22] != want {
		t.Errorf("ls: last line %q, want %q", lines[22], want)
	}
	if n := strings.Count(ls("--top", "0"), "\n"); n != 2+31 {
		t.Errorf("ls --top 0: %d lines, want 33", n)
	}

	// By pattern: two groups.
	out = ls("--by", "pattern")
	if !regexp.MustCompile(`(?s)^33 dead letters of work-in-0 in .*\nCOUNT +MESSAGES +FIRST +LAST +PATTERN +SAMPLE\n` +
		`30 +30 +` + ts + ` +` + ts + ` +order # not found +order 1000 not found\n` +
		`3 +1 +` + ts + ` +` + ts + ` +card declined +card declined\n$`).MatchString(out) {
		t.Errorf("ls --by pattern:\n%s", out)
	}

	// By type: every error of errors.New is one type.
	out = ls("--by", "type", "--top", "1")
	if !regexp.MustCompile(`(?s)\nCOUNT +MESSAGES +FIRST +LAST +TYPE +SAMPLE\n33 +31 +` + ts + ` +` + ts + ` +\*errors\.errorString +card declined\n$`).MatchString(out) {
		t.Errorf("ls --by type --top 1:\n%s", out)
	}

	// JSON: every group unless --top says otherwise.
	var got struct {
		Total, Groups int
		By            string
		Exceptions    []map[string]any
		More          *struct{ Groups, DeadLetters int }
	}
	if err := json.Unmarshal([]byte(ls("--format", "json")), &got); err != nil || got.Total != 33 || got.Groups != 31 || len(got.Exceptions) != 31 || got.More != nil || got.By != "message" {
		t.Errorf("ls --format json: %v, %+v", err, got)
	}
	got.More = nil
	if err := json.Unmarshal([]byte(ls("--format", "json", "--by", "pattern", "--top", "1")), &got); err != nil || got.Groups != 2 || len(got.Exceptions) != 1 ||
		got.Exceptions[0]["pattern"] != "order # not found" || got.Exceptions[0]["messages"] != 30.0 || got.Exceptions[0]["sample"] != "order 1000 not found" ||
		got.More == nil || got.More.Groups != 1 || got.More.DeadLetters != 3 {
		t.Errorf("ls --format json --by pattern --top 1: %v, %+v (more %+v)", err, got, got.More)
	}
	// ls took nothing.
	if d := depth(); d != 33 {
		t.Errorf("after ls the DLQ holds %d, want 33", d)
	}
	for _, args := range [][]string{{"--by", "exception"}, {"--top", "-1"}} {
		if r := runWith(t, &runEnv{env: env, dir: dir}, append([]string{"dlq", "ls", "--binding", "work-in-0"}, args...)...); r.code != exitUsage {
			t.Errorf("ls %v: exit %d, want usage (stderr %q)", args, r.code, r.stderr)
		}
	}
}

func TestMessagePattern(t *testing.T) {
	for in, want := range map[string]string{
		"order 12345 not found":                     "order # not found",
		"order 1234 not found":                      "order # not found",
		"order o-124 not found.":                    "order # not found.",
		"card declined":                             "card declined",
		"charge: card declined":                     "charge: card declined",
		"timeout after 30s on 10.0.0.7:5672":        "timeout after # on #",
		"user 3f2a9c1e-0b1d-4e5f-9a8b-7c6d5e4f3a21": "user #",
		"row (id=4242) is locked":                   "row (id=#) is locked",
		"row (id=42) is locked":                     "row (id=42) is locked",
		// Short numbers stay: an HTTP status, an attempt, a count.
		"status 404 from 10.0.0.7:8080": "status 404 from #",
		"status 503 from 10.0.0.8:8080": "status 503 from #",
		"HTTP 404 not found.":           "HTTP 404 not found.",
		"attempt 3 of 5 failed":         "attempt 3 of 5 failed",
		"code 0042 for a1b2":            "code # for #",
		"１２":                            "#", // not ASCII digits
		"":                              "",
		"über 7 straße":                 "über 7 straße",
	} {
		if got := messagePattern(in); got != want {
			t.Errorf("messagePattern(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLsGroupsByType: --by type groups by x-exception-fqcn, counts the
// distinct messages of each and keeps the first as its sample; a dead
// letter without the header is a group of its own ("(none)" as text).
func TestLsGroupsByType(t *testing.T) {
	l := newLsGroups(byType)
	at := time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC)
	for i, h := range []stream.Headers{
		{stream.HeaderExceptionFQCN: "com.acme.OrderNotFound", stream.HeaderExceptionMessage: "order 1 not found"},
		{stream.HeaderExceptionFQCN: "java.lang.IllegalStateException", stream.HeaderExceptionMessage: "closed"},
		{stream.HeaderExceptionFQCN: "com.acme.OrderNotFound", stream.HeaderExceptionMessage: "order 2 not found"},
		{stream.HeaderExceptionFQCN: "com.acme.OrderNotFound", stream.HeaderExceptionMessage: "order 2 not found"},
		{stream.HeaderExceptionMessage: "from elsewhere"},
	} {
		l.add(stream.DeadLetter{Envelope: stream.Envelope{Headers: h}, Time: at.Add(time.Duration(i) * time.Minute)})
	}
	var b strings.Builder
	if err := l.print(&b, "text", "work-in-0", "work.g.dlq", 2); err != nil {
		t.Fatal(err)
	}
	want := `5 dead letters of work-in-0 in work.g.dlq
COUNT  MESSAGES  FIRST                 LAST                  TYPE                             SAMPLE
3      2         2026-12-01T05:00:00Z  2026-12-01T05:03:00Z  com.acme.OrderNotFound           order 1 not found
1      1         2026-12-01T05:01:00Z  2026-12-01T05:01:00Z  java.lang.IllegalStateException  closed
... 1 more group (1 dead letter): --top 0 lists them all
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
