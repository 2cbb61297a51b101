package config

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/streambind/streambind/stream"
)

// Decode decodes a section of the configuration that is not the stream
// section — the application's own ("myapp"), or a part of one
// ("myapp.db") — into v, a non-nil pointer (usually to a struct), with the
// strictness of the stream section:
//
//   - The keys are the fields' mapstructure tags ("db-url"), or the field
//     name in kebab-case (DBURL → dburl, MaxConns → max-conns); kebab-case,
//     camelCase and snake_case spellings all match. A field tagged "-" or
//     unexported is skipped; an embedded struct (or one tagged ",squash")
//     lends its fields to the enclosing one.
//   - A key that names no field is an error, with a did-you-mean; so is a
//     field set twice in two spellings (dbUrl and db-url).
//   - Values are converted as the stream section's are: integers of every
//     size (range-checked; a leading zero does not make a number octal:
//     010 is 10), unsigned integers (not negative), floats, booleans (also
//     the strings true and false), strings (a number or boolean is written
//     out), time.Duration (250ms, 10s; a bare integer is milliseconds),
//     types that implement encoding.TextUnmarshaler (slog.Level,
//     netip.Addr, ...) from a string, slices (a list, or for scalar items
//     a comma-separated string), maps with string keys, pointers (set only
//     when the key is) and any (the value as loaded: map[string]any,
//     []any, string, int, float64, bool...). A null value leaves the field
//     as it was.
//   - Placeholders (${VAR:default}) are resolved, and environment
//     variables override the keys as [Load] describes — including the
//     fields no file sets: MYAPP_DB_PASSWORD sets DB.Password even when no
//     file mentions it; MYAPP_HOSTS_0 sets item 0 of a list (the
//     variables' items replace the list whole).
//
// Fields that the configuration does not set keep their values, so set
// the defaults in v before calling Decode. A section that is absent (and
// set by no variable) leaves v as it is and is not an error.
//
// Every problem is reported, as a [stream.ConfigErrors] whose paths are
// key paths from the root ("myapp.db.max-conns", "myapp.hosts[2]") and
// whose origins are file:line or "env NAME", each with the key as the
// file wrote it (Key: myApp.db.maxConns) where that differs. A v that is not a non-nil
// pointer, or a section that is the stream section (decoded by Load into
// [Loaded.Stream]), is a plain error. Decode does not change l and may be
// called concurrently.
func (l *Loaded) Decode(section string, v any) error {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config: Decode(%q): want a non-nil pointer, got %T", section, v)
	}
	segs := strings.Split(strings.ToLower(strings.TrimSpace(section)), ".")
	for _, s := range segs {
		if s == "" {
			return fmt.Errorf("config: Decode(%q): not a key path (want a root such as myapp, or myapp.db)", section)
		}
	}
	if segs[0] == "stream" || (len(segs) > 2 && segs[0] == "spring" && segs[1] == "cloud" && segs[2] == "stream") {
		return fmt.Errorf("config: Decode(%q): the stream section is decoded by Load (Loaded.Stream)", section)
	}

	// The section as loaded, in the files' spelling of its path.
	var raw any = l.Raw
	path := make([]string, 0, len(segs))
	for _, s := range segs {
		m, _ := raw.(map[string]any)
		k := s
		if _, ok := m[k]; !ok {
			found := false
			for mk := range m {
				if envKey(mk) == envKey(s) && (!found || mk < k) {
					k, found = mk, true
				}
			}
		}
		path = append(path, k)
		raw = m[k] // nil when absent
	}
	raw = deepCopy(raw)

	origins := make(map[string]string, len(l.originsMap()))
	for k, o := range l.originsMap() {
		origins[k] = o
	}
	var errs stream.ConfigErrors

	// The environment, against the target's fields.
	if len(l.env) > 0 {
		root := &keyNode{kind: nodeMap, children: map[string]*keyNode{}}
		cur := root
		for i, k := range path {
			next := &keyNode{kind: nodeMap, children: map[string]*keyNode{}}
			if i == len(path)-1 {
				next = typeNode(rv.Type().Elem(), raw)
			}
			cur.children[k] = next
			cur = next
		}
		el := newLayer("env")
		var sets []envSet
		names := make([]string, 0, len(l.env))
		for name := range l.env {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if isStreamVar(name) {
				continue
			}
			toks, ok := relaxedTokens(name)
			if !ok {
				continue
			}
			p, ok := resolveNode(root, toks, nil)
			if !ok {
				continue
			}
			value, probs := expandEnvValue(name, l.env)
			for _, msg := range probs {
				errs = append(errs, &stream.ConfigError{Path: renderPath(p), Origin: "env " + name, Msg: msg})
			}
			sets = append(sets, envSet{v: envVar{name: name, value: value, rank: 3}, path: p})
		}
		if len(sets) > 0 {
			el.build(sets)
			errs = append(errs, el.errs...)
			for k := range el.origins {
				for o := range origins {
					if strings.HasPrefix(o, k+"[") {
						delete(origins, o)
					}
				}
			}
			for k, o := range el.origins {
				origins[k] = o
			}
			var over any = el.tree
			for _, k := range path {
				m, _ := over.(map[string]any)
				over = m[k]
			}
			if over != nil {
				raw = overlay(raw, over)
			}
		}
	}

	d := &typedDecoder{origins: origins}
	d.decode(raw, rv.Elem(), strings.Join(path, "."))
	errs = append(errs, d.errs...)
	for _, e := range errs {
		e.Msg = l.Secrets.String(renameAliases(e.Msg, l.aliases)) // max-attempts: ${DB_PASSWORD}
		e.Origin = renameAliases(e.Origin, l.aliases)
		if e.Key == "" { // the key as the file wrote it where it was set
			e.Key = l.Stream.WrittenKey(e.Path, e.Origin)
		}
		e.Key = l.Secrets.String(e.Key) // names, but a key may hold anything a file writes
	}
	return errs.Err()
}

// Problem returns a problem of the value at path, a key path under a
// section read with [Loaded.Decode] ("myapp.db.max-conns", in any of its
// spellings: maxConns, max_conns), as Decode reports one: for a check the
// program makes after Decode (a value out of range). Its Origin is where
// the value was set — file:line, or "env NAME" for an environment
// variable — or "" when neither did (a default); msg has the texts of
// secret placeholders hidden (table: ${DB_PASSWORD}). A path that a file
// spells in another case (Raw's keys outside the names are lower-case:
// management.server.reservestock-in-0 for reserveStock-in-0) is given
// as the file spells it.
func (l *Loaded) Problem(path, msg string) *stream.ConfigError {
	e := &stream.ConfigError{Path: l.spelling(path), Msg: l.Secrets.String(msg)}
	want := envKey(path)
	// One spelling only (Decode refuses two); the least all the same.
	key, found := "", false
	for k, o := range l.originsMap() {
		if envKey(k) == want && (!found || k < key) {
			key, found, e.Origin = k, true, o
		}
	}
	// A variable overrides the files; the greatest name of several.
	env := ""
	for name := range l.env {
		if !isStreamVar(name) && envKey(name) == want && name > env {
			env = name
		}
	}
	if env != "" {
		e.Origin = renameAliases("env "+env, l.aliases)
	}
	if found { // the key as the file wrote it, when the file set it
		if e.Key = l.Stream.WrittenKey(key, e.Origin); e.Key == e.Path {
			e.Key = ""
		}
	}
	return e
}

// spelling returns path as the files write it when one writes it in
// another case (the least of several spellings), else path.
func (l *Loaded) spelling(path string) string {
	out, found := path, false
	for n := range l.written {
		if strings.EqualFold(n, path) && (!found || n < out) {
			out, found = n, true
		}
	}
	return out
}

// originsMap returns the origins of every key Load set.
func (l *Loaded) originsMap() map[string]string {
	if l.Stream == nil {
		return nil
	}
	return l.Stream.Origins
}

// deepCopy copies the maps and lists of a loaded tree.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, c := range v {
			m[k] = deepCopy(c)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, c := range v {
			l[i] = deepCopy(c)
		}
		return l
	default:
		return v
	}
}

// overlay puts the environment's tree over over base: maps are merged,
// anything else replaced.
func overlay(base, over any) any {
	om, ok := over.(map[string]any)
	if !ok {
		return over
	}
	bm, ok := base.(map[string]any)
	if !ok {
		return om
	}
	for k, v := range om {
		bm[k] = overlay(bm[k], v)
	}
	return bm
}

var (
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// isText reports whether values of t are read with UnmarshalText.
func isText(t reflect.Type) bool {
	return t != durationType && reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// typedField is one key of a struct that Decode fills.
type typedField struct {
	key   string
	index []int
	typ   reflect.Type
}

// typedFields returns the keys of struct t, embedded structs flattened.
func typedFields(t reflect.Type) []typedField {
	var out []typedField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("mapstructure"), ",")
		if name == "-" {
			continue
		}
		squashed := strings.Contains(","+opts+",", ",squash,") || (sf.Anonymous && name == "")
		if squashed && sf.Type.Kind() == reflect.Struct && !isText(sf.Type) {
			for _, f := range typedFields(sf.Type) {
				f.index = append([]int{i}, f.index...)
				out = append(out, f)
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = kebab(sf.Name)
		}
		out = append(out, typedField{key: name, index: []int{i}, typ: sf.Type})
	}
	return out
}

// field returns the field that key names (compared squashed).
func fieldFor(fs []typedField, key string) *typedField {
	k := squash(key)
	for i := range fs {
		if squash(fs[i].key) == k {
			return &fs[i]
		}
	}
	return nil
}

// typeNode returns the keys a variable may name in a value of type t;
// raw is what the configuration holds there, whose spelling of the keys
// is kept.
func typeNode(t reflect.Type, raw any) *keyNode {
	rm, _ := raw.(map[string]any)
	for t.Kind() == reflect.Pointer && !isText(t) {
		t = t.Elem()
	}
	switch {
	case t == durationType || isText(t):
		return &keyNode{kind: nodeLeaf, declared: raw != nil}
	case t.Kind() == reflect.Struct:
		n := &keyNode{kind: nodeMap, children: map[string]*keyNode{}, declared: raw != nil}
		for _, f := range typedFields(t) {
			k, found := f.key, false
			for rk := range rm {
				if squash(rk) == squash(f.key) && (!found || rk < k) {
					k, found = rk, true
				}
			}
			n.children[k] = typeNode(f.typ, rm[k])
		}
		return n
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		if t.Elem().Kind() == reflect.Interface {
			n := &keyNode{kind: nodeFree, children: map[string]*keyNode{}, declared: raw != nil}
			for k, v := range rm {
				n.children[k] = valueNode(v)
			}
			return n
		}
		n := &keyNode{kind: nodeNames, children: map[string]*keyNode{}, elem: typeNode(t.Elem(), nil), declared: raw != nil}
		for k, v := range rm {
			n.children[k] = typeNode(t.Elem(), v)
		}
		return n
	case t.Kind() == reflect.Slice:
		return &keyNode{kind: nodeList, elem: typeNode(t.Elem(), nil), declared: raw != nil}
	case t.Kind() == reflect.Interface:
		if rm != nil {
			return valueNode(rm)
		}
		return &keyNode{kind: nodeLeaf, declared: raw != nil}
	default:
		return &keyNode{kind: nodeLeaf, declared: raw != nil}
	}
}

// typedDecoder decodes a loaded tree into Go values, strictly.
type typedDecoder struct {
	origins map[string]string
	errs    stream.ConfigErrors
}

func (d *typedDecoder) fail(path, format string, args ...any) {
	d.errs = append(d.errs, &stream.ConfigError{Path: path, Origin: originOf(d.origins, path), Msg: fmt.Sprintf(format, args...)})
}

// decode converts v (at key path) into rv, which is settable. A nil v
// leaves rv as it is.
func (d *typedDecoder) decode(v any, rv reflect.Value, path string) {
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
	case isText(t):
		s, err := toString(v)
		if err != nil {
			d.fail(path, "%v", err)
			return
		}
		if err := rv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.fail(path, "invalid value %s: %v", quoteShort(s), err)
		}
	case t.Kind() == reflect.Pointer:
		nv := reflect.New(t.Elem())
		if !rv.IsNil() {
			nv.Elem().Set(rv.Elem())
		}
		before := len(d.errs)
		d.decode(v, nv.Elem(), path)
		if len(d.errs) == before {
			rv.Set(nv)
		}
	case t.Kind() == reflect.Struct:
		d.structure(v, rv, path)
	case t.Kind() == reflect.Map:
		d.mapping(v, rv, path)
	case t.Kind() == reflect.Slice:
		d.slice(v, rv, path)
	case t.Kind() == reflect.Interface && t.NumMethod() == 0:
		rv.Set(reflect.ValueOf(v))
	case t.Kind() == reflect.String:
		if x, err := toString(v); err != nil {
			d.fail(path, "%v", err)
		} else {
			rv.SetString(x)
		}
	case t.Kind() == reflect.Bool:
		if x, err := toBool(v); err != nil {
			d.fail(path, "%v", err)
		} else {
			rv.SetBool(x)
		}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		n, err := toInt64(v)
		switch {
		case err != nil:
			d.fail(path, "%v", err)
		case rv.OverflowInt(n):
			d.fail(path, "%d is out of range for %s", n, t)
		default:
			rv.SetInt(n)
		}
	case t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uintptr:
		n, err := toUint64(v)
		switch {
		case err != nil:
			d.fail(path, "%v", err)
		case rv.OverflowUint(n):
			d.fail(path, "%d is out of range for %s", n, t)
		default:
			rv.SetUint(n)
		}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		x, err := toFloat(v)
		switch {
		case err != nil:
			d.fail(path, "%v", err)
		case rv.OverflowFloat(x):
			d.fail(path, "%v is out of range for %s", x, t)
		default:
			rv.SetFloat(x)
		}
	default:
		d.fail(path, "cannot decode into Go type %s (not supported by package config)", t)
	}
}

func (d *typedDecoder) structure(v any, rv reflect.Value, path string) {
	fs := typedFields(rv.Type())
	m, ok := v.(map[string]any)
	if !ok {
		keys := make([]string, len(fs))
		for i, f := range fs {
			keys[i] = f.key
		}
		sort.Strings(keys)
		d.fail(path, "expected a map of keys (%s), got %s", strings.Join(keys, ", "), describe(v))
		return
	}
	seen := map[string]string{} // field key → the spelling that set it
	for _, k := range sortedKeys(m) {
		p := path + "." + k
		f := fieldFor(fs, k)
		if f == nil {
			keys := make([]string, len(fs))
			for i, f := range fs {
				keys[i] = f.key
			}
			sort.Strings(keys)
			msg := "unknown key"
			if sug := suggest(k, keys); sug != "" {
				msg += "; did you mean " + sug + "?"
			} else if len(keys) > 0 {
				msg += " (known keys: " + strings.Join(keys, ", ") + ")"
			} else {
				msg += " (the section has no keys)"
			}
			d.fail(p, "%s", msg)
			continue
		}
		if prev, dup := seen[f.key]; dup {
			d.fail(p, "%s is set twice (also as %s at %s)", f.key, prev, orUnknown(originOf(d.origins, path+"."+prev)))
			continue
		}
		seen[f.key] = k
		d.decode(m[k], fieldByIndex(rv, f.index), p)
	}
}

// fieldByIndex is rv.FieldByIndex for embedded structs that are values.
func fieldByIndex(rv reflect.Value, index []int) reflect.Value {
	for _, i := range index {
		rv = rv.Field(i)
	}
	return rv
}

func (d *typedDecoder) mapping(v any, rv reflect.Value, path string) {
	t := rv.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(path, "cannot decode into Go type %s (map keys must be strings)", t)
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(path, "expected a map, got %s", describe(v))
		return
	}
	if rv.IsNil() {
		rv.Set(reflect.MakeMapWithSize(t, len(m)))
	}
	for _, k := range sortedKeys(m) {
		kv := reflect.ValueOf(k).Convert(t.Key())
		ev := reflect.New(t.Elem()).Elem()
		if old := rv.MapIndex(kv); old.IsValid() {
			ev.Set(old)
		}
		before := len(d.errs)
		d.decode(m[k], ev, path+"."+k)
		if len(d.errs) == before {
			rv.SetMapIndex(kv, ev)
		}
	}
}

func (d *typedDecoder) slice(v any, rv reflect.Value, path string) {
	t := rv.Type()
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case map[string]any:
		d.fail(path, "expected a list, got a map")
		return
	case string:
		if scalarType(t.Elem()) {
			for _, s := range strings.Split(x, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
			break
		}
		d.fail(path, "expected a list, got %s", describe(v))
		return
	default:
		if !scalarType(t.Elem()) {
			d.fail(path, "expected a list, got %s", describe(v))
			return
		}
		items = []any{x}
	}
	out := reflect.MakeSlice(t, len(items), len(items))
	for i, it := range items {
		p := path + "[" + strconv.Itoa(i) + "]"
		if it == nil {
			d.fail(p, "expected a value, got null")
			continue
		}
		d.decode(it, out.Index(i), p)
	}
	rv.Set(out)
}

// scalarType reports whether values of t are written as one scalar (so
// that a list of them may be a comma-separated string).
func scalarType(t reflect.Type) bool {
	if t == durationType || isText(t) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// toInt64 converts as toInt does, to the full int64 range.
func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("%d is out of range", x)
		}
		return int64(x), nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return 0, fmt.Errorf("%s is out of range", quoteShort(x))
			}
			return 0, wrongType(wantInt, v)
		}
		return n, nil
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) || x < math.MinInt64 || x >= math.MaxInt64 {
			return 0, fmt.Errorf("expected %s, got %v (not a whole number in range)", wantInt, strconv.FormatFloat(x, 'g', -1, 64))
		}
		return int64(x), nil
	default:
		return 0, wrongType(wantInt, v)
	}
}

// toUint64 converts to a non-negative integer.
func toUint64(v any) (uint64, error) {
	switch x := v.(type) {
	case uint64:
		return x, nil
	case string:
		s := x
		if strings.HasPrefix(s, "-") {
			if _, err := strconv.ParseInt(s, 10, 64); err == nil {
				return 0, fmt.Errorf("must not be negative, got %s", s)
			}
			return 0, wrongType(wantInt, v)
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return 0, fmt.Errorf("%s is out of range", quoteShort(x))
			}
			return 0, wrongType(wantInt, v)
		}
		return n, nil
	}
	n, err := toInt64(v)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("must not be negative, got %d", n)
	}
	return uint64(n), nil
}
