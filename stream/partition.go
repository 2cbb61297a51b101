package stream

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
)

// KeyExtractor computes a partition key from an outgoing payload (the value
// the function returned, before encoding; a Message's Payload; an
// Envelope's Payload bytes) and its headers. Register it by
// name with [WithKeyExtractor] and select it with
// producer.partition-key-extractor-name.
type KeyExtractor func(payload any, headers Headers) (any, error)

// KeyExpression is a parsed producer.partition-key-expression of the
// simple forms "payload.<field.path>", "headers.<name>" or "key". Other
// expressions of the SpEL subset ([CompileExpression]) are accepted by the
// configuration too; these forms keep their fast path and exact meaning
// ("headers.x-id" is the header x-id, not headers.x minus id).
type KeyExpression struct {
	source string   // "payload", "headers" or "key"
	path   []string // field path (payload) or header name (headers)
}

// ParseKeyExpression parses a partition key expression.
func ParseKeyExpression(s string) (KeyExpression, error) {
	src, rest, dot := strings.Cut(strings.TrimSpace(s), ".")
	switch src {
	case "key":
		if rest != "" {
			break
		}
		return KeyExpression{source: "key"}, nil
	case "payload":
		if !dot {
			return KeyExpression{source: "payload"}, nil
		}
		path := strings.Split(rest, ".")
		for _, p := range path {
			if p == "" {
				return KeyExpression{}, fmt.Errorf("partition key expression %q: empty field name", s)
			}
		}
		return KeyExpression{source: "payload", path: path}, nil
	case "headers":
		if rest == "" {
			break
		}
		return KeyExpression{source: "headers", path: []string{rest}}, nil
	}
	return KeyExpression{}, fmt.Errorf("partition key expression %q: want payload.<field.path>, headers.<name> or key", s)
}

func (e KeyExpression) String() string {
	if len(e.path) == 0 {
		return e.source
	}
	return e.source + "." + strings.Join(e.path, ".")
}

// keySource computes a partition key from an outgoing payload (before
// encoding) and its headers: a [KeyExpression] or a compiled SpEL one.
type keySource interface {
	Extract(payload any, headers Headers) (any, error)
}

// spelKey is a partition-key-expression beyond the simple forms,
// evaluated with the variables payload and headers, as SCSt evaluates it
// against the outgoing Message.
type spelKey struct{ e *Expression }

func (k spelKey) Extract(payload any, headers Headers) (any, error) {
	v, err := k.e.Eval(map[string]any{"payload": payload, "headers": headers})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoKey, err)
	}
	if v == nil { // SCSt: "Partition key cannot be null"
		return nil, fmt.Errorf("%w: %s is null", errNoKey, k.e)
	}
	return v, nil
}

// simpleKeyChars are the characters of the simple forms.
func simpleKeyForm(s string) bool {
	for _, r := range s {
		if !(r == '.' || r == '-' || r == '_' || r == '$' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')) {
			return false
		}
	}
	return true
}

// compileKeyExpression compiles a partition-key-expression: a simple form
// as [ParseKeyExpression] reads it, else the SpEL subset with payload and
// headers.
func compileKeyExpression(s string) (keySource, error) {
	s = strings.TrimSpace(s)
	if simpleKeyForm(s) {
		if e, err := ParseKeyExpression(s); err == nil {
			return e, nil
		}
	}
	e, err := CompileExpression(s, "", "payload", "headers")
	if err != nil {
		return nil, err
	}
	return spelKey{e}, nil
}

// compileSelectorExpression compiles a partition-selector-expression: its
// root object is the key (hashCode() is the key's), also named key; the
// result must be an integer.
func compileSelectorExpression(s string) (*Expression, error) {
	return CompileExpression(s, "key", "key")
}

// errNoKey means the expression found nothing to key on.
var errNoKey = errors.New("no partition key")

// Extract evaluates the expression against an outgoing message: payload is
// the value before encoding (a struct, map, or []byte/string holding JSON).
func (e KeyExpression) Extract(payload any, headers Headers) (any, error) {
	switch e.source {
	case "key":
		if k, ok := headers[HeaderKey]; ok {
			return k, nil
		}
		return nil, fmt.Errorf("%w: no %q header", errNoKey, HeaderKey)
	case "headers":
		if v, ok := headers[e.path[0]]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("%w: no %q header", errNoKey, e.path[0])
	}
	v, err := walkPath(payload, e.path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errNoKey, e, err)
	}
	return v, nil
}

// walkPath follows a field path through structs (field name or json tag,
// case-insensitively), maps with string keys, pointers, and JSON bytes.
//
// With an empty path (the expression payload) a string payload is its own
// key, as SCSt's String payload is (so "123" hashes as the text, as
// Java's "123".hashCode(), not as the number), and bytes that are not JSON
// are their text.
func walkPath(v any, path []string) (any, error) {
	return walkPathFrom("the payload", v, path)
}

// walkPathFrom is walkPath whose errors call v root ("the payload"), and a
// value on the path payload.<names walked> ("payload.customer is null: it
// has no field \"id\""), rather than in reflection's words ("cannot take
// \"id\" of invalid").
func walkPathFrom(root string, v any, path []string) (any, error) {
	if s, ok := v.(string); ok && len(path) == 0 {
		return s, nil
	}
	// A named byte slice such as json.RawMessage is JSON bytes as []byte is.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
		v = rv.Bytes()
	}
	fromJSON := false
	switch b := v.(type) {
	case []byte:
		m, err := unmarshalJSONNumbers(b)
		if err != nil {
			if len(path) == 0 {
				return string(b), nil
			}
			return nil, &notJSONError{field: path[0], err: err}
		}
		v, fromJSON = m, true
	case string:
		m, err := unmarshalJSONNumbers([]byte(b))
		if err != nil {
			if len(path) == 0 {
				return b, nil
			}
			return nil, &notJSONError{field: path[0], text: true, err: err}
		}
		v, fromJSON = m, true
	}
	rv := reflect.ValueOf(v)
	at := func(i int) string {
		if i == 0 {
			return root
		}
		return "payload." + strings.Join(path[:i], ".")
	}
	for i, name := range path {
		for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
			if rv.IsNil() {
				return nil, fmt.Errorf("%s is null: it has no field %q", at(i), name)
			}
			rv = rv.Elem()
		}
		switch rv.Kind() {
		case reflect.Struct:
			idx, ok := fieldIndex(rv.Type(), name)
			if !ok {
				return nil, fmt.Errorf("%s has no field %q", rv.Type(), name)
			}
			rv = rv.FieldByIndex(idx)
		case reflect.Map:
			if rv.Type().Key().Kind() != reflect.String {
				return nil, fmt.Errorf("map key of %s is not a string", rv.Type())
			}
			mv := rv.MapIndex(reflect.ValueOf(name).Convert(rv.Type().Key()))
			if !mv.IsValid() {
				return nil, fmt.Errorf("no key %q", name)
			}
			rv = mv
		case reflect.Invalid: // JSON null, a nil payload
			return nil, fmt.Errorf("%s is null: it has no field %q", at(i), name)
		default:
			return nil, fmt.Errorf("%s is %s, not an object: it has no field %q", at(i), kindWord(rv), name)
		}
	}
	if !rv.IsValid() { // a nil payload, or JSON null: no key (not a panic)
		return nil, errNilValue
	}
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil, errNilValue
		}
		if b, ok := rv.Interface().(*big.Int); ok { // a JSON integer beyond int64
			return b, nil
		}
		rv = rv.Elem()
	}
	if !fromJSON {
		return rv.Interface(), nil
	}
	// A JSON number with a fraction or exponent (2.0 too) is a Double to
	// Jackson: it stays a json.Number, so that PartitionHash gives
	// Double.hashCode (expressions and KeyString read it as a float64).
	if n, ok := rv.Interface().(json.Number); ok && jacksonDouble(n) {
		return n, nil
	}
	return normalizeNumber(rv.Interface()), nil
}

// jacksonDouble reports whether Jackson reads the JSON number n as a
// Double: it has a fraction or an exponent.
func jacksonDouble(n json.Number) bool { return strings.ContainsAny(string(n), ".eE") }

// unmarshalJSONNumbers decodes JSON with numbers as json.Number; walkPath
// makes the value it returns as expressions see numbers (normalizeNumber):
// int when integral, *big.Int beyond int64, else float64.
func unmarshalJSONNumbers(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return m, nil
}

// notJSONError: a field was read of a payload of raw bytes (or text)
// that are not JSON. SpEL reads no field of a byte[] payload at all;
// streambind decodes JSON bytes (docs/conventions.md, Expressions).
type notJSONError struct {
	field string
	text  bool // a string payload, not []byte
	err   error
}

func (e *notJSONError) Error() string {
	kind := "raw bytes"
	if e.text {
		kind = "text"
	}
	return fmt.Sprintf("the payload is %s, not JSON (%v), so its field %q cannot be read", kind, e.err, e.field)
}

func (e *notJSONError) Unwrap() error { return e.err }

// partitionKeyHint completes err, a partition key expression's failure
// over payload v of content type ct, with what to do instead when the
// expression read a field of raw bytes that are not JSON.
func partitionKeyHint(err error, v any, ct string) error {
	var nj *notJSONError
	if !errors.As(err, &nj) {
		return err
	}
	of := ""
	if ct != "" {
		of = " (content type " + ct + ")"
	}
	what := "bytes"
	if _, ok := v.(string); ok {
		what = "text"
	}
	return fmt.Errorf("%w; the expression reads the %s sent%s: key on a header instead (headers['<name>']), give a stream.Envelope its Key (it then selects the partition), or send a stream.Message[T] whose Payload has the field", err, what, of)
}

// kindWord names the kind of a value that has no fields, as JSON would
// call it: "a number", "a string", "an array", "a boolean"; else its Go
// type.
func kindWord(rv reflect.Value) string {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		if rv.Type() == reflect.TypeFor[json.Number]() {
			return "a number"
		}
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Bool:
		return "a boolean"
	}
	return "a " + rv.Type().String()
}

// errNilValue: the path leads to a nil pointer or interface.
var errNilValue = errors.New("key is nil")

// fieldIndexes caches struct field lookups: reflect.Type+name → index.
var fieldIndexes sync.Map // stateless cache of immutable type facts

type fieldKey struct {
	t    reflect.Type
	name string
}

func fieldIndex(t reflect.Type, name string) ([]int, bool) {
	k := fieldKey{t, name}
	if v, ok := fieldIndexes.Load(k); ok {
		idx := v.([]int)
		return idx, idx != nil
	}
	var idx []int
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name || strings.EqualFold(f.Name, name) || (tag != "" && strings.EqualFold(tag, name)) {
			idx = f.Index
			break
		}
	}
	fieldIndexes.Store(k, idx)
	return idx, idx != nil
}

// KeyString renders a partition key as text (what a string key's hash is
// computed over; the partition key is not sent as the message key): the
// text of the Java type PartitionHash hashes it as — a JSON number with
// a fraction or exponent and a float64 with a fraction are Doubles, written
// as Java writes one (2.0, 1.0E21, as SpEL's toString() and
// message-key-expression write them); a whole float64 is the integer it
// holds (7).
func KeyString(key any) string {
	switch k := key.(type) {
	case string:
		return k
	case []byte:
		return string(k)
	case json.Number:
		if jacksonDouble(k) {
			f, _ := k.Float64()
			return javaDouble(f)
		}
		return KeyString(normalizeNumber(k))
	case fmt.Stringer:
		return k.String()
	case float64:
		if k == float64(int64(k)) {
			return strconv.FormatInt(int64(k), 10)
		}
		return javaDouble(k)
	}
	return fmt.Sprint(key)
}

// PartitionHash is the 32-bit hash of a key, as Java's hashCode computes it
// (Spring Cloud Stream's default): String.hashCode over UTF-16 code units for
// strings, Integer/Long.hashCode for integers, Boolean.hashCode for bools
// (1231, 1237), Double.hashCode for a float64 with a fraction and for a JSON
// number with a fraction or exponent (Jackson's Double, 2.0 too), and the
// string form otherwise. A whole float64 hashes as an integer: Go's
// encoding/json decodes the JSON 7 as one, where Jackson reads an Integer.
func PartitionHash(key any) int32 {
	switch k := key.(type) {
	case int32:
		return k
	case int:
		return longHash(int64(k))
	case int64:
		return longHash(k)
	case int16:
		return int32(k)
	case int8:
		return int32(k)
	case uint8:
		return int32(k)
	case uint16:
		return int32(k)
	case uint32:
		return longHash(int64(k))
	case bool:
		if k {
			return 1231
		}
		return 1237
	case float64:
		if k == float64(int64(k)) {
			return longHash(int64(k))
		}
		return doubleHash(k)
	case json.Number: // from a JSON payload
		if jacksonDouble(k) {
			f, _ := k.Float64()
			return doubleHash(f)
		}
		return PartitionHash(normalizeNumber(k))
	case *big.Int: // JSON integers beyond int64
		return bigIntegerHash(k)
	}
	return StringHash(KeyString(key))
}

// doubleHash is Double.hashCode.
func doubleHash(f float64) int32 {
	bits := math.Float64bits(f)
	return int32(bits ^ bits>>32)
}

// bigIntegerHash is java.math.BigInteger.hashCode: 31*h + each 32-bit word
// of the magnitude, most significant first, times the sign.
func bigIntegerHash(b *big.Int) int32 {
	mag := new(big.Int).Abs(b).Bytes()
	var h int32
	for len(mag)%4 != 0 {
		mag = append([]byte{0}, mag...)
	}
	for i := 0; i < len(mag); i += 4 {
		h = 31*h + int32(binary.BigEndian.Uint32(mag[i:]))
	}
	return h * int32(b.Sign())
}

// longHash is Long.hashCode, except that values fitting an int keep
// Integer.hashCode (the value), as SpEL yields an Integer for them.
func longHash(v int64) int32 {
	if v >= -1<<31 && v < 1<<31 {
		return int32(v)
	}
	return int32(v ^ int64(uint64(v)>>32))
}

// StringHash is Java's String.hashCode.
func StringHash(s string) int32 {
	var h int32
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
		h = 31*h + int32(s[i])
	}
	if ascii {
		return h
	}
	h = 0
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// SelectPartition maps a key's hash to a partition as SCSt's default does:
// DefaultPartitionSelector takes abs(hash), with Integer.MIN_VALUE (whose
// abs is itself) as 0, and PartitionHandler then abs(that % count). So a
// key hashing to -2^31 ("polygenelubricants") goes to partition 0.
func SelectPartition(hash int32, count int) int {
	if hash == math.MinInt32 {
		hash = 0
	}
	if hash < 0 {
		hash = -hash
	}
	return int(int64(hash) % int64(count))
}
