package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// decoder decodes the merged "stream" tree into a stream.Config, strictly:
// every unknown key and every value of the wrong type is reported.
type decoder struct {
	origins map[string]string
	skip    map[string]bool // key paths left unset (already reported)
	errs    []*stream.ConfigError
}

func (d *decoder) fail(path, format string, args ...any) {
	d.errs = append(d.errs, &stream.ConfigError{Path: path, Origin: originOf(d.origins, path), Msg: fmt.Sprintf(format, args...)})
}

// decode decodes v (at key path) into rv, whose schema is s.
func (d *decoder) decode(v any, s *schema, rv reflect.Value, path string) {
	switch s.kind {
	case kindStruct:
		d.structure(v, s, rv, path)
	case kindNames:
		d.names(v, s, rv, path)
	case kindFree:
		d.free(v, rv, path)
	case kindLeaf:
		d.leaf(v, rv, path)
	}
}

func (d *decoder) structure(v any, s *schema, rv reflect.Value, path string) {
	if v == nil {
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(path, "expected a map of keys (%s), got %s", strings.Join(s.keys(), ", "), describe(v))
		return
	}
	for _, k := range sortedKeys(m) {
		p := path + "." + k
		f := s.field(k)
		if f == nil {
			if s.remain != nil && d.extension(m[k], s.remain, rv, k, p) {
				continue
			}
			d.unknown(s, k, p)
			continue
		}
		if d.skip[p] {
			continue
		}
		fv := rv.Field(f.index)
		before := len(d.errs)
		d.decode(m[k], f.s, fv, p)
		if m[k] != nil && len(d.errs) == before && fv.IsZero() && nonZero(s.typ, f.key) {
			hint := ""
			if fv.Type() == reflect.TypeFor[time.Duration]() {
				hint = "; for the shortest wait, 1ms" // the docs' advice (conventions: "Zero means default")
			}
			d.fail(p, "must not be 0: 0 stands for \"not set\" (leave the key out to get the default%s)", hint)
		}
	}
}

// extension decodes stream.<type> as a binder-specific section if v is a
// map that holds at least one of its keys (binder, default, bindings), or
// is empty. It reports whether it did.
func (d *decoder) extension(v any, remain *field, rv reflect.Value, typ, path string) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	known := len(m) == 0
	for k := range m {
		if remain.s.field(k) != nil {
			known = true
		}
	}
	if !known {
		return false
	}
	mv := rv.Field(remain.index)
	if mv.IsNil() {
		mv.Set(reflect.MakeMap(mv.Type()))
	}
	ev := reflect.New(mv.Type().Elem()).Elem()
	d.structure(m, remain.s, ev, path)
	mv.SetMapIndex(reflect.ValueOf(typ), ev)
	return true
}

// unknown reports unknown key k of level s, suggesting the closest key.
func (d *decoder) unknown(s *schema, k, path string) {
	msg := "unknown key"
	if side, key := bindingKeyInSide(s, k); key != "" {
		msg += "; " + key + " is a key of the binding itself, not of its " + side + ": " + bindingKeyPath(path, key)
	} else if sug := suggest(k, s.keys()); sug != "" {
		msg += "; did you mean " + sug + "?"
	} else if deeper := s.deeper(k); deeper != "" {
		msg += "; did you mean " + deeper + "?"
	} else {
		msg += " (known keys: " + strings.Join(s.keys(), ", ")
		if s.remain != nil {
			msg += "; or a binder-specific section with " + strings.Join(s.remain.s.keys(), ", ")
		}
		msg += ")"
	}
	d.fail(path, "%s", msg)
}

// bindingSchema is the schema of a binding (stream.bindings.<name>,
// stream.default): its own keys are the table bindingKeyInSide looks in.
var bindingSchema = schemaOf(reflect.TypeFor[stream.BindingConfig]())

// bindingKeyInSide returns, for k an unknown key of a binding's consumer
// or producer section s that is a key of the binding itself (group,
// destination, content-type, binder: stream.bindings.x.consumer.group),
// the section's name and the binding key; "", "" otherwise.
func bindingKeyInSide(s *schema, k string) (side, key string) {
	switch s.typ {
	case reflect.TypeFor[stream.ConsumerConfig]():
		side = "consumer"
	case reflect.TypeFor[stream.ProducerConfig]():
		side = "producer"
	default:
		return "", ""
	}
	if f := bindingSchema.field(k); f != nil && f.s.kind == kindLeaf {
		return side, f.key
	}
	return "", ""
}

// bindingKeyPath is the path of binding key key for the path of a key of
// the binding's consumer or producer section
// (stream.bindings.x.consumer.group → stream.bindings.x.group).
func bindingKeyPath(path, key string) string {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return key
	}
	j := strings.LastIndexByte(path[:i], '.')
	if j < 0 {
		return key
	}
	return path[:j] + "." + key
}

// deeper returns "sub.key" when k is not a key of s but, exactly, a key of
// one of its sub-sections (max-attempts → consumer.max-attempts).
func (s *schema) deeper(k string) string {
	for _, f := range s.fields {
		if f.s.kind != kindStruct {
			continue
		}
		if sub := f.s.field(k); sub != nil {
			return f.key + "." + sub.key
		}
	}
	return ""
}

func (d *decoder) names(v any, s *schema, rv reflect.Value, path string) {
	if v == nil {
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(path, "expected a map of names, got %s", describe(v))
		return
	}
	mv := reflect.MakeMapWithSize(rv.Type(), len(m))
	for _, n := range sortedKeys(m) {
		ev := reflect.New(rv.Type().Elem()).Elem()
		d.decode(m[n], s.elem, ev, path+"."+n)
		mv.SetMapIndex(reflect.ValueOf(n), ev)
	}
	rv.Set(mv)
}

func (d *decoder) free(v any, rv reflect.Value, path string) {
	if v == nil {
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(path, "expected a map, got %s", describe(v))
		return
	}
	if et := rv.Type().Elem(); et.Kind() != reflect.Interface {
		// A typed map (consumer.retryable-exceptions: name → bool): each
		// value is a leaf; nested maps are flattened back to dotted names,
		// which is what a key such as java.lang.IllegalStateException is.
		mv := reflect.MakeMap(rv.Type())
		var walk func(prefix string, m map[string]any)
		walk = func(prefix string, m map[string]any) {
			for _, k := range sortedKeys(m) {
				if sub, ok := m[k].(map[string]any); ok {
					walk(prefix+k+".", sub)
					continue
				}
				ev := reflect.New(et).Elem()
				d.leaf(m[k], ev, path+"."+prefix+k)
				mv.SetMapIndex(reflect.ValueOf(prefix+k), ev)
			}
		}
		walk("", m)
		rv.Set(mv)
		return
	}
	rv.Set(reflect.ValueOf(m))
}

// leaf converts scalar (or list) v into rv. A null value leaves rv unset.
func (d *decoder) leaf(v any, rv reflect.Value, path string) {
	if v == nil {
		return
	}
	t := rv.Type()
	switch {
	case t == durationType:
		if x, err := toDuration(v); err != nil {
			d.fail(path, "%v", err)
		} else {
			rv.SetInt(int64(x))
		}
	case t.Kind() == reflect.String:
		if l, isList := v.([]any); isList {
			if hint := joinedHint(path, l); hint != "" {
				d.fail(path, "expected a string, got a list: %s", hint)
				return
			}
		}
		if x, err := toString(v); err != nil {
			d.fail(path, "%v", err)
		} else {
			rv.SetString(x)
		}
	case t.Kind() == reflect.Int:
		if x, err := toInt(v); err != nil {
			d.fail(path, "%v", err)
		} else {
			rv.SetInt(int64(x))
		}
	case t.Kind() == reflect.Float64:
		if x, err := toFloat(v); err != nil {
			d.fail(path, "%v", err)
		} else {
			rv.SetFloat(x)
		}
	case t.Kind() == reflect.Bool:
		if x, err := toBool(v); err != nil {
			d.fail(path, "%v", err)
		} else {
			rv.SetBool(x)
		}
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Bool:
		if x, err := toBool(v); err != nil {
			d.fail(path, "%v", err)
		} else {
			rv.Set(reflect.ValueOf(&x))
		}
	case t.Kind() == reflect.Slice && t.Elem() == durationType:
		if str, isStr := v.(string); isStr && strings.TrimSpace(str) != "" {
			// "1s,,2s": an empty element is a typo, not "no delay"
			// (a list of delays changes meaning when one is dropped).
			for i, x := range strings.Split(str, ",") {
				if strings.TrimSpace(x) == "" {
					d.fail(path+"["+strconv.Itoa(i)+"]", "empty element in %q (want durations separated by commas, e.g. 1s,10s,1m)", str)
					return
				}
			}
		}
		if xs, ok := d.toStrings(v, path); ok {
			out := make([]time.Duration, 0, len(xs))
			for i, x := range xs {
				dur, err := toDuration(x)
				if err != nil {
					d.fail(path+"["+strconv.Itoa(i)+"]", "%v", err)
					return
				}
				out = append(out, dur)
			}
			rv.Set(reflect.ValueOf(out))
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Int:
		// A YAML list of integers, or one comma-separated string ("0,2"),
		// as Spring Boot binds a List<Integer>.
		var items []any
		switch x := v.(type) {
		case []any:
			items = x
		case string:
			for _, s := range strings.Split(x, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
		default:
			items = []any{x}
		}
		out := make([]int, 0, len(items))
		for i, it := range items {
			n, err := toInt(it)
			if err != nil {
				d.fail(path+"["+strconv.Itoa(i)+"]", "%v", err)
				return
			}
			out = append(out, n)
		}
		rv.Set(reflect.ValueOf(out))
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		if xs, ok := d.toStrings(v, path); ok {
			rv.Set(reflect.ValueOf(xs))
		}
	default:
		d.fail(path, "cannot decode into Go type %s (not supported by package config)", t)
	}
}

// joinedKeys are the keys SCSt types as one String holding several names,
// by the separator between them (the rest of the key path the key ends
// in, when the last segment alone is not enough to tell it).
var joinedKeys = []struct{ suffix, sep, items, note string }{
	// An output binding's list is no "a,b" to write (its destination
	// would be named so; stream refuses it).
	{"destination", ",", "an input binding's destinations", "; an output binding sends to one destination"},
	{"function.definition", ";", "the functions", ""},
	{"outputbindings", ";", "the binding names", ""},
	{"inputbindings", ";", "the binding names", ""},
}

// joinedHint returns, for a YAML list given for a key that SCSt types as
// one string of names (a consumer's destinations "a,b", the definition
// "f;g"), what to write instead; "" for another key. Spring Boot binds no
// list to a String property (its indexed items name no property of it):
// an SCSt app would run with the key unset — on the binding's name as its
// destination —, so the list is refused, with the string to write, not
// joined: a file that streambind takes works the same in SCSt.
func joinedHint(path string, l []any) string {
	segs := strings.Split(path, ".")
	for i, s := range segs {
		segs[i] = squash(s)
	}
	for _, k := range joinedKeys {
		want := strings.Split(k.suffix, ".")
		if len(segs) < len(want) || !slices.Equal(segs[len(segs)-len(want):], want) {
			continue
		}
		key := path[strings.LastIndexByte(path, '.')+1:]
		items := make([]string, 0, len(l))
		for _, it := range l {
			s, err := toString(it)
			if err != nil || it == nil {
				return fmt.Sprintf("SCSt's %s is one string, %s separated by '%s' (Spring Boot binds no YAML list to it)%s", key, k.items, k.sep, k.note)
			}
			items = append(items, strings.TrimSpace(s))
		}
		return fmt.Sprintf("SCSt's %s is one string, %s separated by '%s' (Spring Boot binds no YAML list to it); write %s: %s%s", key, k.items, k.sep, key, strings.Join(items, k.sep), k.note)
	}
	return ""
}

// nonZero reports whether key of struct t has a non-zero default, so that
// an explicit 0 (which would read as "not set") is rejected.
func nonZero(t reflect.Type, key string) bool {
	switch t {
	case reflect.TypeOf(stream.Config{}):
		return key == "dynamic-destination-cache-size" || key == "shutdown-timeout"
	case reflect.TypeOf(stream.ConsumerConfig{}):
		switch key {
		case "concurrency", "max-attempts", "max-in-flight", "back-off-initial-interval", "back-off-multiplier", "back-off-max-interval", "instance-count":
			return true
		}
	case reflect.TypeOf(stream.ProducerConfig{}):
		return key == "partition-count"
	case reflect.TypeOf(stream.PollerConfig{}):
		return key == "fixed-delay" || key == "fixed-rate" || key == "max-messages-per-poll"
	}
	return false
}

// describe renders a bad value for a message.
func describe(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	case string:
		return quoteShort(v)
	default:
		return fmt.Sprint(v)
	}
}

// Expected types, for messages.
const (
	wantInt      = "an integer"
	wantFloat    = "a number"
	wantBool     = "true or false"
	wantString   = "a string"
	wantDuration = "a duration such as 250ms or 10s, or an integer number of milliseconds"
)

func wrongType(want string, v any) error { return fmt.Errorf("expected %s, got %s", want, describe(v)) }

func toInt(v any) (int, error) {
	switch v := v.(type) {
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case uint64:
		if v > math.MaxInt64 {
			return 0, fmt.Errorf("%d is out of range", v)
		}
		return int(v), nil
	case string:
		// Spring's number conversion ignores whitespace around the digits
		// (a .properties value keeps its trailing blanks).
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%s is out of range", quoteShort(v))
		}
		if err != nil {
			return 0, wrongType(wantInt, v)
		}
		return int(n), nil
	case float64: // 2.0 in YAML: a whole number is an integer
		if v != math.Trunc(v) || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, fmt.Errorf("expected %s, got %v (not a whole number)", wantInt, strconv.FormatFloat(v, 'g', -1, 64))
		}
		if math.Abs(v) > math.MaxInt32 {
			return 0, fmt.Errorf("%s is out of range", strconv.FormatFloat(v, 'g', -1, 64))
		}
		return int(v), nil
	default:
		return 0, wrongType(wantInt, v)
	}
}

func toFloat(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, wrongType(wantFloat, v)
		}
	default:
		return 0, wrongType(wantFloat, v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("expected a finite number, got %s", describe(v))
	}
	return f, nil
}

// toBool reads a boolean as Spring does (props.Bool: true, on, yes, 1 and
// false, off, no, 0, in any case): an SCSt file's "enableDlq=yes" (or
// YAML 1.1's yes/on, which Spring Boot's YAML loader reads as booleans)
// must mean what it means there. The error is worded as the loader's
// others.
func toBool(v any) (bool, error) {
	b, err := props.Bool(v)
	if err != nil {
		return false, wrongType(wantBool, v)
	}
	return b, nil
}

// toString accepts strings and, written out, other scalars (a YAML number
// or boolean given for a string key).
func toString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool, int, int64, uint64:
		return fmt.Sprint(x), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	default:
		return "", wrongType(wantString, v)
	}
}

// toDuration reads a Go duration ("250ms", "1m30s") or an integer number
// of milliseconds (a YAML integer or a string of digits), SCSt's unit.
func toDuration(v any) (time.Duration, error) {
	const maxMillis = math.MaxInt64 / int64(time.Millisecond)
	millis := func(n int64) (time.Duration, error) {
		if n > maxMillis || n < -maxMillis {
			return 0, fmt.Errorf("%d milliseconds is out of range", n)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	switch x := v.(type) {
	case int:
		return millis(int64(x))
	case int64:
		return millis(x)
	case uint64:
		return 0, fmt.Errorf("%d milliseconds is out of range", x)
	case float64: // 1e3 or 1000.0: whole milliseconds
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) || math.Abs(x) > float64(maxMillis) {
			return 0, fmt.Errorf("expected %s, got %v", wantDuration, strconv.FormatFloat(x, 'g', -1, 64))
		}
		return millis(int64(x))
	case string:
		x = strings.TrimSpace(x) // as a number's (toInt)
		if x != "" && strings.Trim(x, "0123456789") == "" {
			n, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s milliseconds is out of range", quoteShort(x))
			}
			return millis(n)
		}
		dur, err := time.ParseDuration(x)
		if err != nil {
			// Spring Boot's ISO-8601 ("PT30S") and days ("2d") forms.
			if d, ok := props.SpringDuration(strings.TrimSpace(x)); ok {
				return d, nil
			}
			return 0, wrongType(wantDuration, v)
		}
		return dur, nil
	default:
		return 0, wrongType(wantDuration, v)
	}
}

// toStrings reads a list of scalars or a comma-separated string (items
// trimmed, empty items dropped).
func (d *decoder) toStrings(v any, path string) ([]string, bool) {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		ok := true
		for i, it := range x {
			s, err := toString(it)
			if err != nil || it == nil {
				d.fail(path+"["+strconv.Itoa(i)+"]", "expected a string, got %s", describe(it))
				ok = false
				continue
			}
			out = append(out, s)
		}
		return out, ok
	case string:
		var out []string
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, true
	default:
		s, err := toString(v)
		if err != nil {
			d.fail(path, "expected a list of strings or a comma-separated string, got %s", describe(v))
			return nil, false
		}
		return []string{s}, true
	}
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// originOf returns where path was set: the path itself, else for a key of
// a binding the same key under stream.default, else the nearest enclosing
// key that was set (but not the bare root). "" if unknown. The origins'
// key paths are lower-case; path may spell names as configured.
func originOf(origins map[string]string, path string) string {
	path = strings.ToLower(path)
	if o, ok := origins[path]; ok {
		return o
	}
	if rest, ok := strings.CutPrefix(path, "stream.bindings."); ok {
		for i := 0; i < len(rest); i++ {
			if rest[i] == '.' {
				if o, ok := origins["stream.default."+rest[i+1:]]; ok {
					return o
				}
			}
		}
	}
	for p := path; ; {
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			return ""
		}
		p = p[:i]
		if !strings.ContainsAny(p, ".[") {
			return ""
		}
		if o, ok := origins[p]; ok {
			return o
		}
	}
}
