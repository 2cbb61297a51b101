package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/streambind/streambind/internal/cron"
	"github.com/streambind/streambind/stream"
)

// This file reads the application-wide pollers of an SCSt application
// into stream.poller (stream.Config.Poller: the poller of every output
// binding that sets no producer.poller key, itself or through
// stream.default — as SCSt uses Spring Integration's default poller only
// for a binding without PollerProperties), in its canonical keys:
//
//   - spring.integration.poller.* (Spring Boot's; SCSt 3.2 and later read
//     polled suppliers' default poller there): fixed-delay, fixed-rate,
//     initial-delay, max-messages-per-poll and cron. Spring Boot refuses
//     more than one of cron, fixed-delay and fixed-rate, and so does this.
//     receive-timeout is accepted and dropped (it applies to polling
//     consumers only); any other key is an error.
//   - spring.cloud.stream.poller.* (stream.poller as written: SCSt's
//     deprecated application-wide poller, DefaultPollerProperties):
//     fixed-delay, max-messages-per-poll, cron and initial-delay (and
//     fixed-rate), a bare number of fixed-delay or initial-delay counted
//     in time-unit (a java.util.concurrent.TimeUnit, default
//     MILLISECONDS). SCSt's PollerConfigEnvironmentPostProcessor copies
//     each of them into spring.integration.poller where that key is not
//     set: so the latter wins key by key (the former is dropped with a
//     warning), and a cron of one with a fixed-delay of the other is
//     refused as Spring Boot refuses it.

// pollerCanon maps the squashed keys of the application-wide pollers to
// stream.PollerConfig's.
var pollerCanon = map[string]string{
	"fixeddelay":         "fixed-delay",
	"fixedrate":          "fixed-rate",
	"initialdelay":       "initial-delay",
	"maxmessagesperpoll": "max-messages-per-poll",
	"cron":               "cron",
}

// integrationPollerKeys are the keys of spring.integration.poller that an
// environment variable sets even when no file mentions them
// (SPRING_INTEGRATION_POLLER_FIXED_DELAY), as Spring Boot reads them.
var integrationPollerKeys = []string{
	"spring.integration.poller.cron",
	"spring.integration.poller.fixed-delay",
	"spring.integration.poller.fixed-rate",
	"spring.integration.poller.initial-delay",
	"spring.integration.poller.max-messages-per-poll",
	"spring.integration.poller.receive-timeout",
}

// pollerOrder is the order the keys are handled and reported in; the
// schedule keys come in scheduleKeys' order.
var pollerOrder = []string{"fixed-delay", "fixed-rate", "cron", "initial-delay", "max-messages-per-poll"}

// scheduleKeys say when a poll starts: Spring Boot takes one of them.
var scheduleKeys = []string{"fixed-delay", "fixed-rate", "cron"}

// timeUnits are java.util.concurrent.TimeUnit's constants.
var timeUnits = map[string]time.Duration{
	"NANOSECONDS":  time.Nanosecond,
	"MICROSECONDS": time.Microsecond,
	"MILLISECONDS": time.Millisecond,
	"SECONDS":      time.Second,
	"MINUTES":      time.Minute,
	"HOURS":        time.Hour,
	"DAYS":         24 * time.Hour,
}

const timeUnitNames = "NANOSECONDS, MICROSECONDS, MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS"

// pollerValue is one key of an application-wide poller.
type pollerValue struct {
	path string // as written: "spring.integration.poller.fixedDelay"
	v    any
	scst bool // from stream.poller (else spring.integration.poller)
}

// pollerSet reports whether v sets its key: a blank cron does not (Spring
// Boot and SCSt take only a cron with text).
func pollerSet(key string, v any) bool {
	if key == "cron" {
		s, err := toString(v)
		return err != nil || strings.TrimSpace(s) != ""
	}
	return true
}

// scstPollers applies spring.integration.poller and stream.poller to
// stream.poller in raw (see above), rewriting it in canonical keys;
// it returns the warnings and the problems. Keys whose placeholder failed
// (unresolved) are left alone: they were reported.
func scstPollers(raw map[string]any, origins map[string]string, unresolved map[string]bool) (warnings, errs []*stream.ConfigError) {
	at := func(p string) string { return originOf(origins, p) }
	problem := func(p, format string, args ...any) {
		errs = append(errs, &stream.ConfigError{Path: p, Origin: at(p), Msg: fmt.Sprintf(format, args...)})
	}
	warn := func(p, format string, args ...any) {
		warnings = append(warnings, &stream.ConfigError{Path: p, Origin: at(p), Msg: fmt.Sprintf(format, args...)})
	}
	named := func(p string) string {
		if o := at(p); o != "" {
			return p + " (" + o + ")"
		}
		return p
	}
	failed := func(p string) bool { return unresolved[p] || unresolved[strings.ToLower(p)] }

	integ := integrationPoller(raw, failed, problem, warn)
	tree, _ := raw["stream"].(map[string]any)
	scst := streamPoller(tree, failed, problem)

	// Spring Boot refuses more than one schedule in spring.integration.poller.
	first := ""
	for _, k := range scheduleKeys {
		if v, ok := integ[k]; !ok || !pollerSet(k, v.v) {
			continue
		}
		if first == "" {
			first = k
			continue
		}
		problem(integ[k].path, "is set and so is %s: Spring Boot refuses more than one of cron, fixed-delay and fixed-rate (set one of them)", named(integ[first].path))
		delete(integ, k)
	}

	// SCSt copies stream.poller's keys into spring.integration.poller
	// where that does not set them.
	eff := map[string]pollerValue{}
	for _, k := range pollerOrder {
		if v, ok := integ[k]; ok {
			eff[k] = v
		}
		if v, ok := scst[k]; ok {
			if iv, shadowed := integ[k]; shadowed {
				warn(v.path, "ignored: %s is set, and SCSt reads that one (it copies spring.cloud.stream.poller into spring.integration.poller only where that is not set)", iv.path)
				continue
			}
			eff[k] = v
		}
	}
	// There too, Spring Boot takes one schedule: the one of
	// spring.integration.poller, else stream.poller's first.
	var keep string
	for _, k := range scheduleKeys {
		if v, ok := eff[k]; ok && pollerSet(k, v.v) && (keep == "" || !v.scst && eff[keep].scst) {
			keep = k
		}
	}
	for _, k := range scheduleKeys {
		if v, ok := eff[k]; ok && k != keep && pollerSet(k, v.v) {
			problem(v.path, "is set and so is %s: SCSt (3.2 and later) copies spring.cloud.stream.poller into spring.integration.poller, where Spring Boot refuses more than one of cron, fixed-delay and fixed-rate (set one of them)", named(eff[keep].path))
			delete(eff, k)
		}
	}
	if len(eff) == 0 {
		return warnings, errs
	}

	// The result is stream.poller, the application-wide poller
	// (stream.Config.Poller), in its canonical keys: the poller of each
	// output binding that sets no producer.poller key (itself or through
	// stream.default), as SCSt uses Spring Integration's default poller
	// only for a binding without PollerProperties.
	if tree == nil {
		tree = map[string]any{}
		raw["stream"] = tree
	}
	out := map[string]any{}
	for _, k := range pollerOrder {
		e, ok := eff[k]
		if !ok || !pollerSet(k, e.v) {
			continue
		}
		v, err := checkPollerValue(k, e.v)
		if err != nil {
			problem(e.path, "%v", err)
			continue
		}
		out[k] = v
		if o := at(e.path); o != "" {
			if e.path != "stream.poller."+k {
				o += " (" + e.path + ")"
			}
			origins["stream.poller."+k] = o
		}
	}
	if len(out) > 0 {
		tree["poller"] = out
	}
	return warnings, errs
}

// integrationPoller reads spring.integration.poller's keys, by canonical
// key; it leaves raw as written (Loaded.Raw).
func integrationPoller(raw map[string]any, failed func(string) bool, problem, warn func(p, format string, args ...any)) map[string]pollerValue {
	spring, _ := raw["spring"].(map[string]any)
	ik, ok := mapKey(spring, "integration")
	if !ok {
		return nil
	}
	integ, _ := spring[ik].(map[string]any)
	pk, ok := mapKey(integ, "poller")
	if !ok {
		return nil
	}
	base := "spring." + ik + "." + pk
	poller, isMap := integ[pk].(map[string]any)
	if !isMap {
		problem(base, "expected a map of poller settings (fixed-delay, fixed-rate, initial-delay, max-messages-per-poll, cron)")
		return nil
	}
	out := map[string]pollerValue{}
	for _, k := range sortedKeys(poller) {
		p := base + "." + k
		sq := squash(k)
		switch canon := pollerCanon[sq]; {
		case failed(p):
		case canon != "":
			if prev, dup := out[canon]; dup {
				problem(p, "duplicate key: %s sets it too (one key, two spellings)", prev.path)
				continue
			}
			out[canon] = pollerValue{path: p, v: poller[k]}
		case sq == "receivetimeout": // for polling consumers only
		case sq == "timeunit":
			problem(p, "unknown key of spring.integration.poller: time-unit is spring.cloud.stream.poller's; here durations are written with their unit (5s) or as a bare number of milliseconds")
		default:
			// An error, not Spring Boot's silence: a misspelt schedule key
			// would leave the supplier polled every second.
			msg := "unknown key of spring.integration.poller (it has cron, fixed-delay, fixed-rate, initial-delay, max-messages-per-poll and receive-timeout)"
			if s := suggest(k, []string{"cron", "fixed-delay", "fixed-rate", "initial-delay", "max-messages-per-poll", "receive-timeout"}); s != "" {
				msg += "; did you mean " + s + "?"
			}
			problem(p, "%s", msg)
		}
	}
	return out
}

// streamPoller reads and removes stream.poller, by canonical key, a bare
// number of fixed-delay or initial-delay scaled by its time-unit.
func streamPoller(tree map[string]any, failed func(string) bool, problem func(p, format string, args ...any)) map[string]pollerValue {
	base, pv, ok := lookupSquashed(tree, []string{"poller"})
	if !ok {
		return nil
	}
	_, _ = takeKey(tree, []string{"poller"})
	poller, isMap := pv.(map[string]any)
	if !isMap {
		if pv != nil {
			problem(base, "expected a map of poller settings (fixed-delay, fixed-rate, max-messages-per-poll, cron, initial-delay, time-unit)")
		}
		return nil
	}
	out := map[string]pollerValue{}
	unit := time.Millisecond
	for _, k := range sortedKeys(poller) {
		p := base + "." + k
		switch sq := squash(k); sq {
		case "fixeddelay", "fixedrate", "maxmessagesperpoll", "cron", "initialdelay":
			if !failed(p) {
				out[pollerCanon[sq]] = pollerValue{path: p, v: poller[k], scst: true}
			}
		case "timeunit":
			if failed(p) {
				continue
			}
			s, err := toString(poller[k])
			u, known := timeUnits[strings.ToUpper(strings.TrimSpace(s))]
			if err != nil || !known {
				problem(p, "expected a java.util.concurrent.TimeUnit: %s (the unit of a bare number of fixed-delay and initial-delay), got %s", timeUnitNames, describe(poller[k]))
				continue
			}
			unit = u
		case "receivetimeout": // accepted, as before: polling consumers only
		default:
			msg := "unknown key of stream.poller (it has fixed-delay, fixed-rate, max-messages-per-poll, cron, initial-delay, time-unit and receive-timeout)"
			if s := suggest(k, []string{"fixed-delay", "fixed-rate", "max-messages-per-poll", "cron", "initial-delay", "time-unit", "receive-timeout"}); s != "" {
				msg += "; did you mean " + s + "?"
			}
			problem(p, "%s", msg)
		}
	}
	if unit != time.Millisecond {
		for _, k := range []string{"fixed-delay", "initial-delay"} {
			e, ok := out[k]
			if !ok {
				continue
			}
			n, bare := bareNumber(e.v)
			if !bare {
				continue // a duration as written ("5s")
			}
			if n > math.MaxInt64/int64(unit) || n < -math.MaxInt64/int64(unit) {
				problem(e.path, "%d (time-unit %s) is out of range", n, unitName(unit))
				delete(out, k)
				continue
			}
			e.v = (time.Duration(n) * unit).String()
			out[k] = e
		}
	}
	return out
}

func unitName(u time.Duration) string {
	for n, d := range timeUnits {
		if d == u {
			return n
		}
	}
	return u.String()
}

// bareNumber returns the whole number v is, when it is one (a duration
// without a unit).
func bareNumber(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<62 {
			return int64(x), true
		}
	case string:
		x = strings.TrimSpace(x)
		if x != "" && strings.Trim(x, "0123456789") == "" {
			n, err := strconv.ParseInt(x, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// checkPollerValue checks the value of poller key k, so that a problem is
// reported at the key that was written; it returns the value to set.
func checkPollerValue(k string, v any) (any, error) {
	switch k {
	case "fixed-delay", "fixed-rate", "initial-delay":
		d, err := toDuration(v)
		if err != nil {
			return nil, err
		}
		if d < 0 {
			return nil, fmt.Errorf("must not be negative, got %s", d)
		}
		if d == 0 && k != "initial-delay" {
			return nil, fmt.Errorf("must not be 0: 0 stands for \"not set\" (leave the key out to get the default)")
		}
	case "max-messages-per-poll":
		n, err := toInt(v)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("must not be 0 (1 is the default; a negative number: no limit)")
		}
	case "cron":
		s, err := toString(v)
		if err != nil {
			return nil, err
		}
		if _, err := cron.Parse(s); err != nil {
			return nil, err
		}
	}
	return v, nil
}
