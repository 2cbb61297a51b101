package stream

import (
	"encoding"
	"encoding/json"
	"fmt"
	"mime"
	"runtime/debug"
	"sort"
	"strings"
)

// Converter turns values into payload bytes and back for one MIME type.
// Implementations must be safe for concurrent use.
//
// []byte and string payloads never reach a converter: they travel as they are
// whatever the content type (as in Spring Cloud Stream).
type Converter interface {
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, a non-nil pointer.
	Unmarshal(data []byte, v any) error
}

// Converters maps MIME types ("application/json") to converters. The zero
// value is not usable; [NewConverters] returns one with the built-ins:
// application/json, text/plain and application/octet-stream. Register more
// with [WithConverter]; a type may be a wildcard, as in Spring
// ("application/*+avro", "application/*", "*/*").
type Converters struct {
	byType map[string]Converter
	// wild: a wildcard type is registered (Lookup looks for one only then).
	wild bool
}

// NewConverters returns the built-in converters.
func NewConverters() *Converters {
	return &Converters{byType: map[string]Converter{
		"application/json":         JSONConverter{},
		"text/plain":               TextConverter{},
		"application/octet-stream": OctetStreamConverter{},
	}}
}

// Add registers c for mimeType (parameters are ignored), replacing any
// other. A wildcard type ("application/*+avro", "application/*", "*/*")
// serves the types it matches that have no converter of their own.
func (cs *Converters) Add(mimeType string, c Converter) {
	mt := mediaTypeOf(mimeType)
	cs.byType[mt] = c
	cs.wild = cs.wild || strings.Contains(mt, "*")
}

// MediaTypes returns the media types converters are registered for,
// sorted; any other type with a +json suffix uses application/json's.
func (cs *Converters) MediaTypes() []string {
	ts := make([]string, 0, len(cs.byType))
	for t := range cs.byType {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// Lookup returns the converter for a content type such as
// "application/json; charset=utf-8": the one registered for its type, else
// for a wildcard that matches it ("application/*+avro" for
// "application/vnd.order.v1+avro"), the most specific first:
// type/*+suffix, then application/json's for a +json suffix
// ("application/vnd.shop+json"), then type/*, then */*.
func (cs *Converters) Lookup(contentType string) (Converter, bool) {
	mt := mediaTypeOf(contentType)
	if c, ok := cs.byType[mt]; ok {
		return c, true
	}
	typ, sub, _ := strings.Cut(mt, "/")
	if cs.wild {
		if i := strings.LastIndexByte(sub, '+'); i >= 0 {
			if c, ok := cs.byType[typ+"/*"+sub[i:]]; ok {
				return c, true
			}
		}
	}
	if strings.HasSuffix(mt, "+json") {
		if c, ok := cs.byType["application/json"]; ok {
			return c, true
		}
	}
	if cs.wild {
		if c, ok := cs.byType[typ+"/*"]; ok {
			return c, true
		}
		if c, ok := cs.byType["*/*"]; ok {
			return c, true
		}
	}
	return nil, false
}

// marshalWith and unmarshalWith call a converter, turning its panic (a
// type's MarshalJSON or UnmarshalJSON, say) into its error: a conversion
// failure like an error it returns, so permanent and not retried as a
// handler panic.
func marshalWith(c Converter, v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, converterPanic(r)
		}
	}()
	return c.Marshal(v)
}

func unmarshalWith(c Converter, data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = converterPanic(r)
		}
	}()
	return c.Unmarshal(data, v)
}

func converterPanic(r any) error {
	return &converterPanicError{&PanicError{Value: r, Stack: debug.Stack()}}
}

// converterPanicError reads "panic: <value>" (not "handler panic") and
// wraps the *PanicError, for errors.As and the stack.
type converterPanicError struct{ p *PanicError }

func (e *converterPanicError) Error() string { return fmt.Sprintf("panic: %v", e.p.Value) }
func (e *converterPanicError) Unwrap() error { return e.p }

// mediaTypeOf returns the lower-case media type without parameters; it does
// not allocate for the common already-normalised case.
func mediaTypeOf(ct string) string {
	ct = NormalizeContentType(ct)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(ct)
		}
	}
	return ct
}

// NormalizeContentType returns content type ct as a converter is looked
// up by it and as a binder writes it in a property: a value that is a JSON
// string ("\"application/json\"", quotes included) is its text. Such a
// value is what a Java Kafka producer's header bridged as text gives (its
// header mapper writes a MimeType as a JSON string), or a header set by
// hand (amqp-publish -H 'contentType: "application/json"'); the Kafka
// binder decodes it where the record's spring_json_header_types lists
// it, and every binder's consumer reads it through here. Any other value
// is returned as it is (no allocation).
func NormalizeContentType(ct string) string {
	if n := len(ct); n < 2 || ct[0] != '"' || ct[n-1] != '"' {
		return ct
	}
	if strings.IndexByte(ct[1:len(ct)-1], '\\') < 0 && strings.IndexByte(ct[1:len(ct)-1], '"') < 0 {
		return ct[1 : len(ct)-1]
	}
	var s string
	if err := json.Unmarshal([]byte(ct), &s); err != nil {
		return ct
	}
	return s
}

// ParseMediaType validates a content type and returns its media type and
// parameters.
func ParseMediaType(ct string) (string, map[string]string, error) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", nil, fmt.Errorf("invalid content type %q: %w", ct, err)
	}
	return mt, params, nil
}

// JSONConverter is application/json, with encoding/json.
type JSONConverter struct{}

func (JSONConverter) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (JSONConverter) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// TextConverter is text/plain: strings, []byte, pointers to either (a
// supplier's or handler's *string), encoding.TextMarshaler /
// TextUnmarshaler, and fmt.Stringer (marshal only).
type TextConverter struct{}

func (TextConverter) Marshal(v any) ([]byte, error) {
	switch t := v.(type) {
	case encoding.TextMarshaler:
		return t.MarshalText()
	case fmt.Stringer:
		return []byte(t.String()), nil
	case string:
		return []byte(t), nil
	case []byte:
		return t, nil
	case *string: // a supplier's or function's "nil for nothing" output
		if t != nil {
			return []byte(*t), nil
		}
	case *[]byte:
		if t != nil {
			return *t, nil
		}
	}
	return nil, fmt.Errorf("text/plain: %T is not a string, fmt.Stringer or encoding.TextMarshaler", v)
}

func (TextConverter) Unmarshal(data []byte, v any) error {
	switch t := v.(type) {
	case encoding.TextUnmarshaler:
		return t.UnmarshalText(data)
	case *string:
		*t = string(data)
		return nil
	case *[]byte:
		*t = append((*t)[:0], data...)
		return nil
	case **string: // a handler that takes *string
		s := string(data)
		*t = &s
		return nil
	case **[]byte:
		b := append([]byte(nil), data...)
		*t = &b
		return nil
	}
	return fmt.Errorf("text/plain: %T is not *string or encoding.TextUnmarshaler", v)
}

// OctetStreamConverter is application/octet-stream: bytes (and strings,
// and pointers to either), and encoding.BinaryMarshaler /
// BinaryUnmarshaler.
type OctetStreamConverter struct{}

func (OctetStreamConverter) Marshal(v any) ([]byte, error) {
	switch t := v.(type) {
	case encoding.BinaryMarshaler:
		return t.MarshalBinary()
	case []byte:
		return t, nil
	case string:
		return []byte(t), nil
	case *[]byte:
		if t != nil {
			return *t, nil
		}
	case *string:
		if t != nil {
			return []byte(*t), nil
		}
	}
	return nil, fmt.Errorf("application/octet-stream: %T is not []byte or encoding.BinaryMarshaler", v)
}

func (OctetStreamConverter) Unmarshal(data []byte, v any) error {
	switch t := v.(type) {
	case encoding.BinaryUnmarshaler:
		return t.UnmarshalBinary(data)
	case *[]byte:
		*t = append((*t)[:0], data...)
		return nil
	case *string:
		*t = string(data)
		return nil
	case **[]byte: // a handler that takes *[]byte
		b := append([]byte(nil), data...)
		*t = &b
		return nil
	case **string:
		s := string(data)
		*t = &s
		return nil
	}
	return fmt.Errorf("application/octet-stream: %T is not *[]byte or encoding.BinaryUnmarshaler", v)
}
