package outbox

import (
	"strings"
	"sync"
	"time"
)

const (
	// failReportEvery is how often, at most, the repeats of one failure
	// of sends (see failReports) are reported.
	failReportEvery = time.Minute
	// failForget is how long a failure must not recur to be forgotten:
	// when it comes again, it is reported at once, as new.
	failForget = 5 * time.Minute
	// maxFailReports bounds the failures remembered at once.
	maxFailReports = 1000
)

// failReports rate-limits the WARNs of failed sends. A row that can never
// be sent (a destination the broker refuses, a message too large) fails at
// every retry, every poll-interval for ever; a WARN each time flooded the
// log, once a second per failing key by default. A failure is known by
// the name the row is sent to and the send's error text, its numbers and
// quoted values aside (see failClass; not the row, nor its key: a
// destination that refuses fails every key of it the same way, and that
// is one problem to report, as is every message over the broker's size
// limit, whatever its size). The first failure of its kind is
// reported at once; its repeats are counted, and reported at most once
// per failReportEvery, with their count, at the next repeat after that. A
// different failure — another name, another error — is reported at once.
// A failure that did not recur for failForget is forgotten: when it comes
// back, it is reported at once, as new. At most maxFailReports failures are
// remembered; beyond, the one seen longest ago is forgotten.
//
// Every failure is still counted (streambind_outbox_send_failures_total),
// recorded on its row (attempts, last_error) and logged at DEBUG.
type failReports struct {
	mu sync.Mutex
	m  map[failKey]*failReport
}

type failKey struct{ name, err string }

type failReport struct {
	lastReport time.Time // when it was last reported (WARN)
	lastSeen   time.Time // when it last happened
	repeats    int64     // since the last report
}

// note records a failure at now of a send to name with error text err,
// and says how to log it: first, it is new (report it); else repeats > 0,
// the failures since the report at since, this one included (report
// them); else nothing (it was reported less than failReportEvery ago).
func (f *failReports) note(now time.Time, name, err string) (first bool, repeats int64, since time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := failKey{name, failClass(err)}
	e := f.m[k]
	if e != nil && now.Sub(e.lastSeen) > failForget {
		e = nil
	}
	if e == nil {
		if f.m == nil {
			f.m = map[failKey]*failReport{}
		}
		if len(f.m) >= maxFailReports {
			f.evict(now)
		}
		f.m[k] = &failReport{lastReport: now, lastSeen: now}
		return true, 0, time.Time{}
	}
	e.lastSeen = now
	e.repeats++
	if now.Sub(e.lastReport) < failReportEvery {
		return false, 0, time.Time{}
	}
	repeats, since = e.repeats, e.lastReport
	e.repeats, e.lastReport = 0, now
	return false, repeats, since
}

// evict forgets the failures that did not recur for failForget, and, when
// none did, the one seen longest ago.
func (f *failReports) evict(now time.Time) {
	var oldest failKey
	var at time.Time
	for k, e := range f.m {
		if now.Sub(e.lastSeen) > failForget {
			delete(f.m, k)
			continue
		}
		if at.IsZero() || e.lastSeen.Before(at) {
			oldest, at = k, e.lastSeen
		}
	}
	if len(f.m) >= maxFailReports {
		delete(f.m, oldest)
	}
}

// failClass is the error text err with each run of digits written '#' and
// each double-quoted value "…": the binders' errors name a row's size
// ("payload of 1048577 bytes, over the broker's max_message_size"), its
// routing key ("with routing key \"order-17\": unroutable") or an
// address, and each row that fails so was a failure of its own, WARNed at
// once: a backlog of rows too large, or unroutable, flooded the log again,
// one line a row.
func failClass(err string) string {
	var b strings.Builder
	for i := 0; i < len(err); i++ {
		switch c := err[i]; {
		case '0' <= c && c <= '9':
			for i+1 < len(err) && '0' <= err[i+1] && err[i+1] <= '9' {
				i++
			}
			b.WriteByte('#')
		case c == '"':
			end := -1
			for j := i + 1; j < len(err); j++ {
				if err[j] == '\\' {
					j++
					continue
				}
				if err[j] == '"' {
					end = j
					break
				}
			}
			if end < 0 {
				b.WriteString(err[i:])
				return b.String()
			}
			b.WriteString(`"…"`)
			i = end
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
