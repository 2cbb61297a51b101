// Package cron reads Spring's cron expressions (Spring Framework's
// CronExpression, the dialect of SCSt's producer.poller.cron and Spring
// Integration's poller) and computes when they fire.
//
// The fields the dialect shares with the common Go one are parsed by
// github.com/robfig/cron; what Spring does differently is done here:
// day-of-week is read as Spring reads it (MON=1 … SUN=7, 0 also Sunday, *
// and steps over 1–7, a range starting at 7 starting at Sunday), ? is
// allowed in the day fields only, and a time matches when its
// day-of-month AND its day-of-week match (robfig, like Vixie cron, takes
// either when both are restricted: "0 0 0 13 * FRI" would fire on every
// 13th and every Friday). Quartz's L, W and # extensions, which Spring
// also reads, are refused with the reason rather than misread.
package cron

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// Schedule is a parsed expression. It is immutable and safe for
// concurrent use.
type Schedule struct {
	spec *robfig.SpecSchedule // every field but day-of-week (a star there)
	dow  uint8                // bit d set: weekday d matches (0 Sunday)
}

// macros are Spring's (CronExpression.MACROS), matched ignoring case.
var macros = map[string]string{
	"@yearly":   "0 0 0 1 1 *",
	"@annually": "0 0 0 1 1 *",
	"@monthly":  "0 0 0 1 * *",
	"@weekly":   "0 0 0 * * 0",
	"@daily":    "0 0 0 * * *",
	"@midnight": "0 0 0 * * *",
	"@hourly":   "0 0 * * * *",
}

var fieldNames = [6]string{"second", "minute", "hour", "day-of-month", "month", "day-of-week"}

var parser = robfig.NewParser(robfig.Second | robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month | robfig.Dow)

// Parse reads a Spring cron expression: six fields separated by spaces
// (second minute hour day-of-month month day-of-week) or one of Spring's
// macros. Its error says what is wrong and in which field. An expression
// that is valid but matches no time in the next five years (the 31st of
// February) is refused too: its poller would never run.
func Parse(expr string) (*Schedule, error) {
	e := strings.TrimSpace(expr)
	if e == "" {
		return nil, errors.New("empty cron expression")
	}
	if strings.HasPrefix(e, "@") {
		m, ok := macros[strings.ToLower(e)]
		if !ok {
			return nil, fmt.Errorf("cron %q: unknown macro (Spring's are @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly; for a period use fixed-delay or fixed-rate)", expr)
		}
		e = m
	}
	fields := strings.Fields(e)
	if len(fields) != 6 {
		hint := ""
		if len(fields) == 5 {
			hint = "; a Unix crontab line has no seconds field: put \"0 \" in front of it"
		}
		return nil, fmt.Errorf("cron %q: has %d fields, want 6 (second minute hour day-of-month month day-of-week)%s", expr, len(fields), hint)
	}
	for i, f := range fields[:5] {
		if err := checkField(i, f); err != nil {
			return nil, fmt.Errorf("cron %q: %s field %q: %w", expr, fieldNames[i], f, err)
		}
	}
	dow, err := parseDayOfWeek(fields[5])
	if err != nil {
		return nil, fmt.Errorf("cron %q: day-of-week field %q: %w", expr, fields[5], err)
	}
	s, err := parser.Parse(strings.Join(fields[:5], " ") + " *")
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w", expr, err)
	}
	sch := &Schedule{spec: s.(*robfig.SpecSchedule), dow: dow}
	if sch.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("cron %q: matches no time in the next five years", expr)
	}
	return sch, nil
}

// checkField checks field i (0 second … 4 month) alone, so that an error
// names its field: Spring's rules first, then robfig's parser with every
// other field a star.
func checkField(i int, f string) error {
	u := strings.ToUpper(f)
	if i == 3 && (strings.Contains(u, "L") || strings.Contains(u, "W")) {
		return errors.New("the Quartz extensions L (last day) and W (nearest weekday) are not supported: list the days, or poll daily and check the date in the supplier")
	}
	if strings.Contains(f, "?") && (i != 3 || f != "?") {
		return errors.New("? stands alone, and only in day-of-month or day-of-week")
	}
	parts := []string{"*", "*", "*", "*", "*", "*"}
	parts[i] = f
	_, err := parser.Parse(strings.Join(parts, " "))
	return err
}

// dayNames are Spring's day-of-week names and numbers (CronExpression:
// MON=1 … SUN=7).
var dayNames = [...]string{"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"}

// parseDayOfWeek reads a day-of-week field as Spring's BitsCronField
// does and returns its weekdays as bits (bit d: time.Weekday d).
func parseDayOfWeek(f string) (uint8, error) {
	u := strings.ToUpper(f)
	for i, n := range dayNames {
		u = strings.ReplaceAll(u, n, strconv.Itoa(i+1))
	}
	if strings.ContainsAny(u, "L#") {
		return 0, errors.New("the Quartz extensions L (last weekday of the month) and # (nth weekday) are not supported: list the days, or poll weekly and check the date in the supplier")
	}
	if u == "?" {
		u = "*"
	}
	var bits uint16 // bit 0 and bit 7: Sunday
	for part := range strings.SplitSeq(u, ",") {
		rng, stepStr, stepped := strings.Cut(part, "/")
		lo, hi, err := dayRange(rng)
		if err != nil {
			return 0, err
		}
		step := 1
		if stepped {
			if !strings.Contains(rng, "-") {
				hi = 7 // "a/n" runs from a to the end, as "*/n" from 1
			}
			step, err = strconv.Atoi(stepStr)
			if err != nil || step <= 0 {
				return 0, fmt.Errorf("step %q: want a whole number of 1 or more", stepStr)
			}
		}
		for d := lo; d <= hi; d += step {
			bits |= 1 << d
		}
	}
	var days uint8
	for d := 1; d <= 6; d++ {
		if bits&(1<<d) != 0 {
			days |= 1 << d
		}
	}
	if bits&(1|1<<7) != 0 {
		days |= 1 // Sunday
	}
	return days, nil
}

// dayRange reads "*", "d" or "a-b" of a day-of-week field.
func dayRange(s string) (lo, hi int, err error) {
	if s == "*" {
		return 1, 7, nil
	}
	day := func(v string) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 7 {
			return 0, fmt.Errorf("%q is not a day of the week (0-7, 0 and 7 Sunday, or MON-SUN)", v)
		}
		return n, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = day(a); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = day(b); err != nil {
		return 0, 0, err
	}
	if lo == 7 {
		lo = 0 // Spring: Sunday starting a range is 0
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("range %q runs backwards", s)
	}
	return lo, hi, nil
}

// maxDays bounds Next's search: robfig gives up after five years, and
// each round here moves at least a day on.
const maxDays = 5*366 + 1

// Next returns the first time after t (by at least a second's fraction,
// at a whole second) that the expression matches, in t's location; the
// zero time if there is none in the next five years.
func (s *Schedule) Next(t time.Time) time.Time {
	for range maxDays {
		n := s.spec.Next(t)
		if n.IsZero() || s.dow&(1<<n.Weekday()) != 0 {
			return n
		}
		// Not a matching weekday: try from the start of the next day
		// (robfig rounds t up to the next whole second: that instant).
		t = startOfNextDay(n).Add(-time.Nanosecond)
	}
	return time.Time{}
}

// startOfNextDay returns the first instant of the calendar day after t's,
// in t's location. Where daylight saving time begins at midnight
// (America/Santiago: 00:00 is 01:00), time.Date normalises the missing
// midnight backwards, into t's day: then the first hour that is on the
// next day is taken.
func startOfNextDay(t time.Time) time.Time {
	y, m, d := t.Date()
	wy, wm, wd := time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC).Date()
	s := time.Date(y, m, d+1, 0, 0, 0, 0, t.Location())
	for range 24 * 60 { // minute by minute (offsets are whole minutes); a gap is an hour or two
		if sy, sm, sd := s.Date(); sy == wy && sm == wm && sd == wd {
			return s
		}
		s = s.Add(time.Minute)
	}
	return t.Add(24 * time.Hour)
}
