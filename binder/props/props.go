// Package props decodes a binder's untyped property maps strictly: the
// binder settings (stream.<type>.binder and
// stream.binders.<name>.environment, see [stream.BinderSettings]) and the
// binder-specific section of a binding (stream.<type>.bindings.<binding>.
// producer or .consumer, the Extension of a [stream.ProducerSpec] or
// [stream.ConsumerSpec]).
//
// The maps come from a config loader (YAML, JSON, environment variables) or
// from Go code, so a value may arrive as any of several Go types: a number as
// int, int64, uint64, an integral float64 or a string of digits, a list as a
// []any or a comma-separated string. The converters ([Int], [Bool],
// [String], [List], [Duration], [Map]) accept those forms and return an
// error whose text is meant to follow a key path ("must be at least 1, got
// 0"). A [Decoder] walks a map in sorted key order with the keys normalised
// by [Norm], records every problem against its key path and returns them all
// as a [stream.ConfigErrors], so that a user sees every mistake at once.
// [Decoder.Nest] reads the flat keys an environment variable gives a
// nested section (quorum-deliverylimit for quorum.delivery-limit) as the
// section's keys.
//
// The binders in this module (memory, kafka, rabbit) share it so that their
// settings accept the same value forms and report problems the same way.
package props

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/streambind/streambind/internal/didyoumean"

	"github.com/streambind/streambind/stream"
)

// Norm returns k lower-cased with every '-' and '_' removed, so that
// kebab-case ("buffer-size"), camelCase ("bufferSize"), snake_case and the
// lower-cased keys of a config loader ("buffersize") compare equal. Binders
// switch on the normalised key ("buffersize").
func Norm(k string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return -1
		}
		return r
	}, strings.ToLower(k))
}

// SortedKeys returns the keys of m in sorted order (nil or empty m: an empty
// slice), so that problems are reported in a stable order.
func SortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Source is a property map and the key path its keys are reported under.
type Source struct {
	Path string
	Map  map[string]any
}

// BinderSources returns the two maps of s that binder settings are decoded
// from, in the order to apply them (the later one wins): s.Binder under
// "stream.<type>.binder" and s.Environment under [EnvironmentPath]. typ is
// the type to use in the path when s.Type is empty (a binder constructed
// directly rather than from configuration).
func BinderSources(s stream.BinderSettings, typ string) []Source {
	if s.Type != "" {
		typ = s.Type
	}
	return []Source{{"stream." + typ + ".binder", s.Binder}, {EnvironmentPath(s), s.Environment}}
}

// EnvironmentPath returns the key path of s.Environment:
// "stream.binders.<name>.environment", or "environment" when s has no name.
func EnvironmentPath(s stream.BinderSettings) string {
	if s.Name == "" {
		return "environment"
	}
	return "stream.binders." + s.Name + ".environment"
}

// SettingPath returns the key path a message should tell the user to set
// to change binder setting key (kebab-case) of the binder with settings s:
// at, the path of the key that gave the setting its value, when given (it
// won over the others, so it is the one to change); else the key in the
// binder's environment when the binder has one or a name of its own
// (declared under stream.binders: its environment wins over
// stream.<type>.binder, which with inherit-environment false it does not
// even read, and is its alone); else stream.<type>.binder.<key>. typ is
// the type to use when s.Type is empty, as for [BinderSources].
func SettingPath(s stream.BinderSettings, typ, key, at string) string {
	if at != "" {
		return at
	}
	if s.Type != "" {
		typ = s.Type
	}
	if len(s.Environment) > 0 || s.Name != "" && !strings.EqualFold(s.Name, typ) {
		return EnvironmentPath(s) + "." + key
	}
	return "stream." + typ + ".binder." + key
}

// BindingPath returns the key path of a binding's binder-specific section:
// "stream.<typ>.bindings.<binding>.<kind>", kind being "producer" or
// "consumer".
func BindingPath(typ, binding, kind string) string {
	return "stream." + typ + ".bindings." + binding + "." + kind
}

// UnknownKey returns the error for a key a binder does not know:
// "unknown key (hint)", or "unknown key" for an empty hint. The hint should
// list the keys that are accepted, after a colon or "accepts", separated by
// commas, semicolons or "and" ("known: a, b (or c), d", "tls accepts a, b
// and c"). Returned from the function given to [Decoder.Each], it gains a
// suggestion when the key written is a likely typo of one of them:
// "unknown key; did you mean min-partition-count? (known: …)".
func UnknownKey(hint string) error {
	return &unknownKeyError{hint: hint}
}

// unknownKeyError is the error of [UnknownKey]; [Decoder.Each] adds the key
// it was returned for, which UnknownKey is not told.
type unknownKeyError struct {
	hint, suggestion string
}

func (e *unknownKeyError) Error() string {
	msg := "unknown key"
	if e.suggestion != "" {
		msg += "; did you mean " + e.suggestion + "?"
	}
	if e.hint != "" {
		msg += " (" + e.hint + ")"
	}
	return msg
}

// Suggest returns the key of known closest to key, compared normalised by
// [Norm], when it is close enough to be a likely typo (the edit distance is
// at most a third of the suggestion's length, at least 1 and at most 3:
// the rule the config loader applies to the keys it knows), else "". Of
// keys equally close the first is taken. A key equal to one of known
// (normalised) gets no suggestion.
func Suggest(key string, known []string) string {
	k := Norm(key)
	best, bestD := "", -1
	for _, c := range known {
		d := didyoumean.Distance(k, Norm(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD == 0 || bestD > max(1, min(3, len(Norm(best))/3)) {
		return ""
	}
	return best
}

// keyName matches a key as a hint lists it (kebab-case, dots allowed).
var keyName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// hintKeys returns the keys a hint of [UnknownKey] lists: the words after
// its first colon or "accepts", split at commas, semicolons, parentheses,
// colons and "and"/"or" (so "rabbit consumer properties: a, b; c" and
// "max-deliver (or max-deliveries)" list every key they name); what does
// not look like a key is skipped.
func hintKeys(hint string) []string {
	i := strings.Index(hint, ":")
	if j := strings.Index(hint, " accepts "); j >= 0 && (i < 0 || j < i) {
		i = j + len(" accepts ") - 1
	}
	if i < 0 {
		return nil
	}
	var out []string
	for item := range strings.FieldsFuncSeq(hint[i+1:], func(r rune) bool {
		return r == ',' || r == ';' || r == '(' || r == ')' || r == ':'
	}) {
		for _, w := range strings.Fields(item) {
			if w != "and" && w != "or" && keyName.MatchString(w) {
				out = append(out, w)
			}
		}
	}
	return out
}

// withKey returns err, for key, with a suggestion when err is the error of
// [UnknownKey] itself (not wrapped) and key is a likely typo of a key its
// hint lists.
func withKey(err error, key string) error {
	uk, ok := err.(*unknownKeyError)
	if !ok || uk.suggestion != "" {
		return err
	}
	if s := Suggest(key, hintKeys(uk.hint)); s != "" {
		return &unknownKeyError{hint: uk.hint, suggestion: s}
	}
	return err
}

// Decoder collects the problems found while decoding property maps. The
// zero value is ready to use; it is not safe for concurrent use.
type Decoder struct {
	errs stream.ConfigErrors
	// written maps the key path of a key that [Decoder.Nest] moved into a
	// section (a.quorum.enabled) to the path of the key as it was written
	// (a.quorum-enabled), where its problems are reported.
	written map[string]string
	// given maps a key normalised by [Norm] to where [Decoder.Each] last
	// passed it (see [Decoder.GivenAt]).
	given map[string]givenAt
	seq   int
}

type givenAt struct {
	seq  int
	path string
}

// Each calls f for every key of m in sorted order, with the key normalised
// by [Norm], the key's path (path + "." + the key as written, see
// [Decoder.KeyPath]) and its value. An error f returns is recorded against
// the key's path (the error of [UnknownKey] with a suggestion of the key
// meant, see [Suggest]); f may also record problems itself (for a nested
// map, by calling Each with the path it was given). A nil or empty m calls
// nothing.
func (d *Decoder) Each(path string, m map[string]any, f func(key, path string, v any) error) {
	for _, k := range SortedKeys(m) {
		p := d.KeyPath(path, k)
		if d.given == nil {
			d.given = map[string]givenAt{}
		}
		d.seq++
		d.given[Norm(k)] = givenAt{seq: d.seq, path: p}
		d.Add(p, withKey(f(Norm(k), p, m[k]), k))
	}
}

// GivenAt returns the path of the key [Decoder.Each] passed last of
// those named (normalised by [Norm]: "healthtimeout"; aliases together:
// "maxlength", "maxlen"), at any level, or "" when none was given. A
// binder reads its sources in the order they win, so it is the path of
// the value in force: where a check of two settings together
// (health-timeout against health-interval) reports its problem, for the
// file:line of the line to change rather than of the section.
func (d *Decoder) GivenAt(keys ...string) string {
	best := givenAt{}
	for _, k := range keys {
		if g, ok := d.given[k]; ok && g.seq > best.seq {
			best = g
		}
	}
	return best.path
}

// KeyPath returns the path of key k of the map at path: path + "." + k,
// or, for a key [Decoder.Nest] moved into a section, the path of the key
// as it was written. Code that walks a map without [Decoder.Each] reports
// at KeyPath so that its problems are where the user wrote them.
func (d *Decoder) KeyPath(path, k string) string {
	p := path + "." + k
	if w, ok := d.written[p]; ok {
		return w
	}
	return p
}

// Section is a key of a property map whose value is a map of its own
// (rabbit's quorum, kafka's configuration, tls), given to [Decoder.Nest].
type Section struct {
	// Key is the section's key (kebab-case, as documented).
	Key string
	// Scalar is the key of the section that a scalar value of the section
	// stands for ("enabled" for quorum: true, tls: true); "" when the
	// section is a map only.
	Scalar string
	// Opaque: the section's keys are not property names but names of the
	// user's (RabbitMQ queue arguments, header names), which a flat key
	// cannot spell: the environment variable that gives one has lost
	// whether each '_' was a '-' or a '.'. Such a flat key is refused,
	// saying how to set the map, rather than guessed.
	Opaque bool
}

// Nest returns m (the map at path) with its flat keys moved into the
// sections they name: a key that spells a section's key, a separator
// ('-', '_' or '.') and more is read as that "more" key of the section,
// so quorum-delivery-limit, quorum_deliveryLimit and quorum-deliverylimit
// are quorum.delivery-limit. That is the form a nested key takes when it
// comes from an environment variable that no file declares the section
// for (SPRING_CLOUD_STREAM_RABBIT_BINDINGS_X_CONSUMER_QUORUM_DELIVERYLIMIT
// arrives as quorum-deliverylimit): the config loader cannot know a
// binder's sections, so it joins the variable's words with '-'.
//
// A flat key wins over the key of the same name (compared by [Norm], '.'
// ignored too) that the section holds already: it comes from an
// environment variable, which overrides the files (a section set in
// stream.<type>.default and a variable for one binding meet so). A
// section whose value is a scalar becomes a map of [Section.Scalar] to
// it; without a Scalar that, and a flat key of an [Section.Opaque]
// section, is a problem recorded against the flat key. Problems of the
// moved keys are reported at the paths of the keys as written (see
// [Decoder.KeyPath]), and so is, when the section is made of flat keys
// only, the section itself (at its first flat key). m itself is not
// changed; without flat keys it is returned as it is.
func (d *Decoder) Nest(path string, m map[string]any, sections ...Section) map[string]any {
	type flat struct{ key, rest string }
	var found map[int][]flat
	for _, k := range SortedKeys(m) {
		best, bestLen, rest := -1, 0, ""
		for i, s := range sections {
			if r, ok := cutSection(k, s.Key); ok && len(Norm(s.Key)) > bestLen {
				best, bestLen, rest = i, len(Norm(s.Key)), r
			}
		}
		if best < 0 {
			continue
		}
		if found == nil {
			found = map[int][]flat{}
		}
		found[best] = append(found[best], flat{k, rest})
	}
	if len(found) == 0 {
		return m
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i, s := range sections {
		flats := found[i]
		if len(flats) == 0 {
			continue
		}
		for _, f := range flats {
			delete(out, f.key)
		}
		if s.Opaque {
			for _, f := range flats {
				d.Addf(d.KeyPath(path, f.key), "the keys of %s are names of your own, which a flat key (an environment variable's words joined by '-') cannot spell: set %s as a map in a file (a variable then overrides the keys it holds), or in SPRING_APPLICATION_JSON", s.Key, s.Key)
			}
			continue
		}
		// The section's key as m spells it, if m has it.
		sk := ""
		for _, k := range SortedKeys(m) {
			if Norm(k) == Norm(s.Key) {
				sk = k
				break
			}
		}
		var sec map[string]any
		var secPath string
		switch v := m[sk]; {
		case sk == "" || v == nil:
			if sk == "" {
				sk = s.Key
			}
			secPath = d.KeyPath(path, flats[0].key)
			d.alias(path+"."+sk, secPath)
			sec = map[string]any{}
		default:
			secPath = d.KeyPath(path, sk)
			if vm, isMap := v.(map[string]any); isMap {
				sec = make(map[string]any, len(vm)+len(flats))
				for k, x := range vm {
					sec[k] = x
				}
			} else if s.Scalar != "" {
				sec = map[string]any{s.Scalar: v}
				d.alias(secPath+"."+s.Scalar, secPath)
			} else {
				for _, f := range flats {
					d.Addf(d.KeyPath(path, f.key), "%s is set to a value at %s, not to a map that %s could be a key of", s.Key, secPath, f.rest)
				}
				continue
			}
		}
		for _, f := range flats {
			for k := range sec {
				if sameKey(k, f.rest) {
					delete(sec, k)
				}
			}
			sec[f.rest] = m[f.key]
			d.alias(secPath+"."+f.rest, d.KeyPath(path, f.key))
		}
		out[sk] = sec
	}
	return out
}

// alias records that problems of the key at path are reported at written.
func (d *Decoder) alias(path, written string) {
	if path == written {
		return
	}
	if d.written == nil {
		d.written = map[string]string{}
	}
	d.written[path] = written
}

// cutSection reports whether key k spells section key s followed by a
// separator ('-', '_' or '.') and a rest, compared as [Norm] does, and
// returns the rest as written.
func cutSection(k, s string) (rest string, ok bool) {
	want := Norm(s)
	i := 0
	for want != "" && i < len(k) {
		c := k[i]
		i++
		if c == '-' || c == '_' {
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != want[0] {
			return "", false
		}
		want = want[1:]
	}
	if want != "" || i == len(k) || !isSep(k[i]) {
		return "", false
	}
	rest = strings.TrimLeftFunc(k[i:], func(r rune) bool { return r < 0x80 && isSep(byte(r)) })
	return rest, rest != ""
}

func isSep(c byte) bool { return c == '-' || c == '_' || c == '.' }

// sameKey reports whether a and b name the same key of a section: equal
// once lower-cased without '-', '_' and '.' (kafka's configuration reads
// max-poll-records as max.poll.records).
func sameKey(a, b string) bool {
	return strings.ReplaceAll(Norm(a), ".", "") == strings.ReplaceAll(Norm(b), ".", "")
}

// Add records err against path; a nil err is ignored. The problem is
// marked [stream.ConfigError].UnknownKey when err is (or wraps) the error
// of [UnknownKey] or [RemovedKey].
func (d *Decoder) Add(path string, err error) {
	if err != nil {
		d.errs = append(d.errs, &stream.ConfigError{Path: path, Msg: err.Error(), UnknownKey: IsUnknownKey(err)})
	}
}

// RemovedKey is the error for a key a section no longer has, msg saying
// what replaced it ("dead-letter-args was removed: …"). Like [UnknownKey]'s,
// it marks the problem as a key the section does not have
// ([stream.ConfigError].UnknownKey).
func RemovedKey(msg string) error { return &removedKeyError{msg: msg} }

type removedKeyError struct{ msg string }

func (e *removedKeyError) Error() string { return e.msg }

// IsUnknownKey reports whether err is (or wraps) the error of [UnknownKey]
// or [RemovedKey]: a key its section does not have, rather than a value
// refused.
func IsUnknownKey(err error) bool {
	var uk *unknownKeyError
	var rk *removedKeyError
	return errors.As(err, &uk) || errors.As(err, &rk)
}

// Addf records a problem, formatted as by [fmt.Sprintf], against path.
func (d *Decoder) Addf(path, format string, args ...any) {
	d.errs = append(d.errs, &stream.ConfigError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Err returns every problem recorded so far as a [stream.ConfigErrors], in
// the order they were recorded, or nil if there was none.
func (d *Decoder) Err() error {
	return d.errs.Err()
}

// Int converts v to an int in [lo, math.MaxInt32] (lo must not be below
// math.MinInt32). It accepts:
//   - every Go integer type (int, int8 … int64, uint, uint8 … uint64);
//   - a float32 or float64 with an integral value, as YAML and JSON decoders
//     produce (2.0 is 2; 2.5, NaN and ±Inf are not whole numbers);
//   - a json.Number or a string holding a base-10 integer, with an optional
//     sign and surrounding white space (" 16 "); not "1e3", "0x10" or "".
//
// The errors read "want a whole number, got …" for anything else, and
// "must be at least lo, got n" or "must be at most 2147483647, got n" for a
// whole number out of range.
func Int(v any, lo int) (int, error) {
	n, text, err := wholeNumber(v)
	if err != nil {
		return 0, err
	}
	if n < int64(lo) {
		return 0, fmt.Errorf("must be at least %d, got %s", lo, text)
	}
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("must be at most %d, got %s", math.MaxInt32, text)
	}
	return int(n), nil
}

// Int64 converts v as [Int] does, without the upper bound of MaxInt32
// (for limits the broker keeps as 64-bit numbers).
func Int64(v any, lo int64) (int64, error) {
	n, text, err := wholeNumber(v)
	if err != nil {
		return 0, err
	}
	if n < lo {
		return 0, fmt.Errorf("must be at least %d, got %s", lo, text)
	}
	return n, nil
}

// Size converts a size in bytes of at least lo and at most MaxInt32: a
// whole number of bytes as [Int] takes it, or a Spring DataSize text — a
// number with B, KB, MB or GB (powers of 1024, as Spring reads them:
// 1MB is 1048576), as SCSt's and Spring Boot's size properties accept.
func Size(v any, lo int) (int, error) {
	s, ok := v.(string)
	if !ok {
		return Int(v, lo)
	}
	n, err := DataSize(s)
	if err != nil {
		return 0, err
	}
	if n < int64(lo) {
		return 0, fmt.Errorf("must be at least %d bytes, got %s", lo, strings.TrimSpace(s))
	}
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("must be at most %d bytes, got %s", math.MaxInt32, strings.TrimSpace(s))
	}
	return int(n), nil
}

// DataSize reads a Spring DataSize text: a number of bytes, or a number
// with B, KB, MB, GB or TB (powers of 1024, as Spring reads them).
func DataSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	num := strings.TrimRight(s, "BKMGTbkmgt")
	unit := strings.ToUpper(strings.TrimSpace(s[len(num):]))
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a size such as 16384, 16KB or 1MB, got %q", s)
	}
	shift := map[string]uint{"": 0, "B": 0, "KB": 10, "MB": 20, "GB": 30, "TB": 40}
	sh, ok := shift[unit]
	if !ok || n > (1<<62)>>sh {
		return 0, fmt.Errorf("want a size such as 16384, 16KB or 1MB, got %q", s)
	}
	return n << sh, nil
}

// wholeNumber converts v as [Int] describes, without a range check. n
// saturates at the int64 bounds; text is the exact value in decimal, for
// error messages.
func wholeNumber(v any) (n int64, text string, err error) {
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int8:
		n = int64(x)
	case int16:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint:
		return fromUint(uint64(x))
	case uint8:
		n = int64(x)
	case uint16:
		n = int64(x)
	case uint32:
		n = int64(x)
	case uint64:
		return fromUint(x)
	case float32:
		return wholeNumber(float64(x))
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, "", fmt.Errorf("want a whole number, got %v", x)
		}
		// float64(math.MaxInt64) rounds up to 2^63, which is out of range.
		switch {
		case x >= math.MaxInt64:
			n = math.MaxInt64
		case x <= math.MinInt64:
			n = math.MinInt64
		default:
			n = int64(x)
		}
		return n, strconv.FormatFloat(x, 'f', -1, 64), nil
	case json.Number:
		return wholeNumber(string(x))
	case string:
		i, perr := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if perr != nil {
			return 0, "", fmt.Errorf("want a whole number, got %q", x)
		}
		n = i
	default:
		return 0, "", fmt.Errorf("want a whole number, got %T %v", v, v)
	}
	return n, strconv.FormatInt(n, 10), nil
}

func fromUint(u uint64) (int64, string, error) {
	return int64(min(u, math.MaxInt64)), strconv.FormatUint(u, 10), nil
}

// Bool converts v to a bool as Spring binds one: a bool, or a string that
// Spring's StringToBooleanConverter accepts, trimmed of white space and in
// any case: "true", "on", "yes", "1" or "false", "off", "no", "0" (an SCSt
// file's "autoCreateTopics=yes" means true there). Anything else, numbers
// and Go's "t" and "f" included (Spring refuses them), is an error "want
// true or false, got …". The config loader reads its booleans with it too.
func Bool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "on", "yes", "1":
			return true, nil
		case "false", "off", "no", "0":
			return false, nil
		}
		return false, fmt.Errorf("want true or false, got %q", x)
	}
	return false, fmt.Errorf("want true or false, got %T %v", v, v)
}

// EnumName is Spring Boot's canonical form of an enum value
// (LenientObjectToEnumConverterFactory): its letters and digits only, lower
// case, so that NONE, None, none and embedded-headers, EMBEDDED_HEADERS,
// embeddedHeaders compare equal. Binders and the config loader compare
// SCSt's enum values by it.
func EnumName(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}

// String converts v to a string. It accepts a string (returned as is, white
// space included), a [fmt.Stringer], an int, int64, float64 or bool,
// written out as by [fmt.Sprint] (a YAML number or boolean given for a
// string key), and nil as "" (a key written with no value, "key:" in
// YAML, which Spring binds as the empty string: SCSt's retry-via-DLQ-TTL
// pattern writes dlq-dead-letter-exchange: so). Anything else is an error
// "want a string, got <type>"; the error never shows the value, so a
// mistyped secret is not echoed.
func String(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case fmt.Stringer:
		return x.String(), nil
	case int, int64, float64, bool:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("want a string, got %T", v)
}

// List converts v to a list of strings. It accepts a string, a []string or
// a []any whose elements [String] accepts. Every string is split on commas,
// so "a, b" and []any{"a,b"} and []any{"a", "b"} all give [a b]; items are
// trimmed of white space and empty items dropped, so the result may be
// empty (nil) — the caller decides whether that is allowed. The errors read
// "want a comma-separated string or a list, got <type>" and
// "want a list of strings, got an element <type>". nil (the key with no
// value) is the empty list, as [String] takes it for ""; a nil element of
// a list is an error (most likely an item left empty by mistake).
func List(v any) ([]string, error) {
	var raw []string
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		raw = []string{x}
	case []string:
		raw = x
	case []any:
		raw = make([]string, 0, len(x))
		for _, e := range x {
			s, err := String(e)
			if err != nil || e == nil {
				return nil, fmt.Errorf("want a list of strings, got an element %T", e)
			}
			raw = append(raw, s)
		}
	default:
		return nil, fmt.Errorf("want a comma-separated string or a list, got %T", v)
	}
	var out []string
	for _, r := range raw {
		for s := range strings.SplitSeq(r, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// maxMillis is the largest number of milliseconds a time.Duration holds.
const maxMillis = math.MaxInt64 / int64(time.Millisecond)

// Duration converts v to a time.Duration. It accepts:
//   - a time.Duration;
//   - a string holding a Go duration ("250ms", "1m30s", "-1s"), one of
//     Spring Boot's that Go lacks ([SpringDuration]: "PT30S", "2d") or, as
//     Spring Cloud Stream's unit, an integer number of milliseconds ("1500");
//     surrounding white space is ignored;
//   - a whole number as [Int] accepts it (an int, an integral float64, a
//     json.Number …): milliseconds.
//
// The result must be positive; allowZero also admits 0. The errors read
// "want a duration such as 250ms or 10s, or a number of milliseconds,
// got …", "N milliseconds is out of range" (beyond about ±292 years),
// "must be positive, got …" and, with allowZero, "must not be negative,
// got …".
func Duration(v any, allowZero bool) (time.Duration, error) {
	var d time.Duration
	switch x := v.(type) {
	case time.Duration:
		d = x
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			if d, err = millis(n, s); err != nil {
				return 0, err
			}
		} else if d, err = time.ParseDuration(s); err != nil {
			var ok bool
			if d, ok = SpringDuration(s); !ok {
				return 0, fmt.Errorf("want a duration such as 250ms or 10s, or a number of milliseconds, got %q", x)
			}
		}
	default:
		n, text, err := wholeNumber(v)
		if err != nil {
			return 0, fmt.Errorf("want a duration such as 250ms or 10s, or a number of milliseconds, got %T %v", v, v)
		}
		if d, err = millis(n, text); err != nil {
			return 0, err
		}
	}
	switch {
	case d < 0 && allowZero:
		return 0, fmt.Errorf("must not be negative, got %s", d)
	case d < 0 || (d == 0 && !allowZero):
		return 0, fmt.Errorf("must be positive, got %s", d)
	}
	return d, nil
}

// isoDuration is java.time.Duration's ISO-8601 form (PnDTnHnMn.nS).
var isoDuration = regexp.MustCompile(`^(?i)([-+]?)P(?:([-+]?[0-9]+)D)?(?:T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?[0-9]+)(?:[.,]([0-9]{0,9}))?S)?)?$`)

// simpleDuration is Spring Boot's simple form (DurationStyle.SIMPLE): a
// whole number and a unit among ns, us, ms, s, m, h and d, the unit in
// any case (Unit.fromSuffix compares with equalsIgnoreCase: "10S", "2M"
// for two minutes, "1D"), which Go's durations lack.
var simpleDuration = regexp.MustCompile(`^([-+]?[0-9]+)(?i:(ns|us|ms|s|m|h|d))$`)

var simpleUnits = map[string]time.Duration{"ns": time.Nanosecond, "us": time.Microsecond, "ms": time.Millisecond,
	"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}

// SpringDuration reads the duration forms Spring Boot accepts that Go's
// time.ParseDuration does not: ISO-8601 ("PT30S", "PT0.5S", "P1DT2H"),
// days ("2d") and units in upper case ("10S", "500MS"). ok is false for
// anything else or a duration out of range.
func SpringDuration(s string) (d time.Duration, ok bool) {
	if m := simpleDuration.FindStringSubmatch(s); m != nil {
		unit := simpleUnits[strings.ToLower(m[2])]
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit) {
			return 0, false
		}
		return time.Duration(n) * unit, true
	}
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || (m[2] == "" && m[3] == "" && m[4] == "" && m[5] == "") || strings.HasSuffix(strings.ToUpper(s), "T") {
		return 0, false
	}
	var total float64 // in nanoseconds; checked against the range below
	for i, unit := range []time.Duration{0, 0, 24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if i < 2 || m[i] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i], 10, 64)
		if err != nil {
			return 0, false
		}
		v := float64(n) * float64(unit)
		if i == 5 && m[6] != "" {
			frac, _ := strconv.ParseFloat("0."+m[6], 64)
			if strings.HasPrefix(m[5], "-") {
				frac = -frac
			}
			v += frac * float64(time.Second)
		}
		total += v
	}
	if m[1] == "-" {
		total = -total
	}
	if total >= math.MaxInt64 || total <= math.MinInt64 {
		return 0, false
	}
	return time.Duration(total), true
}

func millis(n int64, text string) (time.Duration, error) {
	if n > maxMillis || n < -maxMillis {
		return 0, fmt.Errorf("%s milliseconds is out of range", text)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// Map converts v to a nested property map. It accepts a map[string]any, and
// nil (a key given without a value, as YAML "tls:"), which gives a nil map
// with no error. Anything else is an error "want a map, got <type>".
func Map(v any) (map[string]any, error) {
	switch x := v.(type) {
	case map[string]any:
		return x, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("want a map, got %T", v)
}

// SetAt is where a binder setting was given: Src, the index of its source
// in BinderSources (0: stream.<type>.binder, 1: the binder's environment),
// and Path, its key path ("" when it was not given).
type SetAt struct {
	Src  int
	Path string
}

// Given reports whether the setting was given.
func (s SetAt) Given() bool { return s.Path != "" }

// URLOverAddress decides between a connection URL and a server address
// that are both given (Redis url and address, RabbitMQ uri and
// addresses): the URL wins within one source, as Spring Boot's
// spring.data.redis.url overrides host and port (a file's address and an
// environment variable's URL are one source once merged, so the variable
// overrides the file); the binder's environment section wins over
// stream.<type>.binder, whichever of the two it sets, and its address then
// replaces only the URL's host and port. It returns whether the address
// wins and, when both are given and differ, the pair {ignored key, key
// used} for the WARN line a binder logs at start-up (else zero).
func URLOverAddress(url, addr SetAt, differ bool) (addrWins bool, ignored [2]string) {
	addrWins = addr.Given() && (!url.Given() || addr.Src > url.Src)
	switch {
	case !url.Given() || !addr.Given() || !differ:
		return addrWins, ignored
	case addrWins:
		return true, [2]string{url.Path + " (its host and port)", addr.Path}
	}
	return false, [2]string{addr.Path, url.Path}
}
