package kafka

import (
	"bytes"
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"unicode/utf8"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// Spring's Kafka header mapper (SCSt's BinderHeaderMapper, Spring Kafka's
// DefaultKafkaHeaderMapper) writes, besides the headers, a record header
// spring_json_header_types: a JSON object naming the Java class of each
// header it wrote from a typed value ({"contentType":"java.lang.String",
// "n":"java.lang.Integer"}). Its consumer side (toHeaders) reads a header
// the object does not list as byte[]; one it lists as that class: a
// java.lang.String whose value does not start with '"' as the raw text,
// any other value JSON-decoded as the class (a String starting with '"',
// an Integer's 5, a MimeType as SCSt's producer writes contentType: the
// JSON string "application/json", quotes included). The types header
// itself never reaches the application.
//
// So on the wire (SCSt wins there):
//   - inbound, a header listed as a String (or a MimeType, MediaType)
//     whose value is a JSON string reads as the decoded text; an older
//     SCSt's MimeType object ({"type":"application","subtype":"json",
//     "parameters":{}}) as type/subtype;params; other classes (numbers,
//     booleans) as their JSON text; headers not listed as their bytes. The
//     types header is not in the envelope's Headers.
//   - outbound, every record but under header-mode none carries the types
//     header listing each header whose name and value are UTF-8 text as
//     java.lang.String, so that a Java consumer reads them as Strings
//     (@Header String, headers['x'] == 'a') rather than byte[]. The values
//     go as their raw text, as SCSt's producer writes a String (its mapper
//     JSON-encodes Strings only with encodeStrings, off by default), but a
//     value starting with '"', which the Java mapper would JSON-decode:
//     that one is JSON-encoded, so that it reads back as it was; and
//     scst_partition, listed as java.lang.Integer when its value is an
//     int (isJavaInt), as SCSt sets it (an int) and writes it. The
//     dead-letter headers x-exception-* and x-original-* are not listed:
//     SCSt writes them as byte[] (its DLQ consumers cast them so). A dead
//     letter or retry copy of a record that had a types header keeps the
//     headers it copies unchanged as the record had them, bytes and class
//     (keepJavaTypes), as Spring Kafka's DeadLetterPublishingRecoverer
//     copies the record's headers.

// headerJSONTypes is Spring's header of the Java types of the others
// (BinderHeaderMapper.JSON_TYPES).
const headerJSONTypes = "spring_json_header_types"

// javaString is the Java class of a header that reads as text.
const javaString = "java.lang.String"

// jsonTypeValue is one header's entry in a types header we write.
const jsonTypeValue = `":"` + javaString + `"`

// javaInteger is the Java class of the scst_partition header SCSt
// writes: its PartitionHandler's int, set as the header
// (MessageConverterConfigurer's PartitioningInterceptor:
// setHeader(BinderHeaders.PARTITION_HEADER, partition)), which
// BinderHeaderMapper writes as its JSON (2) listed as java.lang.Integer.
const javaInteger = "java.lang.Integer"

// jsonIntegerValue is an Integer header's entry in a types header we
// write.
const jsonIntegerValue = `":"` + javaInteger + `"`

// isJavaInt reports whether v is the JSON of a Java int as Jackson
// writes one: an optional '-', digits without a leading zero (but "0"),
// within 32 bits. An scst_partition header that is one is written as an
// Integer (appendJSONTypesKept), as SCSt writes it; any other value as a
// String. Streambind's consumers read both as the text (an Integer's
// JSON is its text).
func isJavaInt(v []byte) bool {
	n, err := strconv.ParseInt(string(v), 10, 32)
	return err == nil && strconv.FormatInt(n, 10) == string(v)
}

// textClass reports whether Java class c reads as text: a String, or a
// MIME type (SCSt's BinderHeaderMapper writes a MimeType's toString as a
// JSON string; older releases wrote the MimeType as a JSON object).
func textClass(c string) bool {
	switch c {
	case javaString, "org.springframework.util.MimeType", "org.springframework.http.MediaType":
		return true
	}
	return false
}

// jsonTypes is the types header of a record, parsed: header name → Java
// class. A consumer's worker keeps the last one (see partWorker.types):
// a producer's records carry the same header over and over.
type jsonTypes struct {
	raw   []byte
	types map[string]string
}

// parse returns the classes of types header value b, from t when b is
// the one t was parsed from (t may be nil). A value that is not a JSON
// object of strings gives nil: every header reads as its bytes, as
// Spring's mapper reads them when it cannot decode the types.
func (t *jsonTypes) parse(b []byte) map[string]string {
	if t != nil && t.raw != nil && bytes.Equal(t.raw, b) {
		return t.types
	}
	var m map[string]any // class names; any, as Spring reads it (Map.class)
	var types map[string]string
	if json.Unmarshal(b, &m) == nil {
		types = make(map[string]string, len(m))
		for k, v := range m {
			if s, ok := v.(string); ok {
				types[k] = s
			}
		}
	}
	if t != nil {
		t.raw, t.types = bytes.Clone(b), types
	}
	return types
}

// lastJSONTypes is the value of hs's last types header (Spring reads the
// last) and whether it has one.
func lastJSONTypes(hs []kafkago.Header) ([]byte, bool) {
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].Key == headerJSONTypes {
			return hs[i].Value, true
		}
	}
	return nil, false
}

// jsonHeaderText returns the text of header value v whose Java class is
// c (from the types header): a text class's JSON string decoded (an old
// MimeType object as type/subtype;params), else v. The common case, a
// JSON string without escapes, is v's bytes between the quotes (no
// copy). A value that does not decode reads as its bytes, as Spring's
// mapper keeps it then.
func jsonHeaderText(c string, v []byte) []byte {
	if len(v) == 0 || !textClass(c) {
		return v
	}
	switch v[0] {
	case '"':
		if n := len(v); n >= 2 && v[n-1] == '"' && bytes.IndexByte(v[1:n-1], '"') < 0 && bytes.IndexByte(v[1:n-1], '\\') < 0 && !hasControl(v[1:n-1]) {
			return v[1 : n-1]
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return v
		}
		return []byte(s)
	case '{':
		if c == javaString {
			return v
		}
		var mt struct {
			Type       string            `json:"type"`
			Subtype    string            `json:"subtype"`
			Parameters map[string]string `json:"parameters"`
		}
		if json.Unmarshal(v, &mt) != nil || mt.Type == "" || mt.Subtype == "" {
			return v
		}
		s := mt.Type + "/" + mt.Subtype
		for k, p := range mt.Parameters { // Spring keeps them in a map: no order to keep
			s += ";" + k + "=" + p
		}
		return []byte(s)
	}
	return v
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// recordHeaders returns the headers of a record (hs) as an envelope's:
// each one's last value, as text (str makes a string of bytes; the
// consumer's interns), a header its types header lists decoded
// (jsonHeaderText), the types header left out. cache, when not nil,
// keeps the parsed types header. distinct is how many names hs has
// (repeatedHeaders).
func recordHeaders(hs []kafkago.Header, cache *jsonTypes, str func([]byte) string) (h stream.Headers, distinct int) {
	if len(hs) == 0 {
		return nil, 0
	}
	var types map[string]string
	raw, typed := lastJSONTypes(hs)
	if typed {
		types = cache.parse(raw)
	}
	h = make(stream.Headers, len(hs))
	for _, x := range hs {
		if typed {
			if x.Key == headerJSONTypes {
				continue
			}
			if c, ok := types[x.Key]; ok {
				h[x.Key] = str(jsonHeaderText(c, x.Value))
				continue
			}
		}
		h[x.Key] = str(x.Value)
	}
	distinct = len(h)
	if typed {
		distinct++
	}
	return h, distinct
}

// listedAsString reports whether header k (value v) goes in our types
// header as a java.lang.String: text, and not one of the dead-letter
// headers SCSt writes as byte[].
func listedAsString(k string, v []byte) bool {
	return listedName(k) && utf8.Valid(v)
}

// listedName is listedAsString's test of the name.
func listedName(k string) bool {
	return k != headerJSONTypes && !strings.HasPrefix(k, "x-exception-") && !strings.HasPrefix(k, "x-original-") && utf8.ValidString(k)
}

// appendJSONTypes finishes the headers hs of a record we write: it
// JSON-encodes the value of each listed header that starts with '"'
// (the Java mapper would decode it) and appends the types header listing
// them, in name order, each once, written in buf (reused by the caller:
// no allocation once it has grown). hs without a listed header is
// returned as it is.
func appendJSONTypes(hs []kafkago.Header, buf []byte) ([]kafkago.Header, []byte) {
	return appendJSONTypesKept(hs, buf, nil)
}

// appendJSONTypesKept is appendJSONTypes for a dead letter or retry copy
// whose headers in kept (keepJavaTypes) are the original record's, bytes
// and Java class: each is listed with its class as it is, or left out
// where its class is "" (byte[]); the others as appendJSONTypes lists
// them.
func appendJSONTypesKept(hs []kafkago.Header, buf []byte, kept map[string]string) ([]kafkago.Header, []byte) {
	var small [16]int
	idx := small[:0]
	for i := range hs {
		h := &hs[i]
		if c, ok := kept[h.Key]; ok {
			if c == "" {
				continue
			}
		} else if !listedAsString(h.Key, h.Value) {
			continue
		} else if h.Key == stream.HeaderPartition && isJavaInt(h.Value) {
			// listed as an Integer below
		} else if len(h.Value) > 0 && h.Value[0] == '"' {
			h.Value = appendJSONString(nil, h.Value) // rare: a new slice, the old bytes untouched
		}
		// Insertion in name order (a handful of headers).
		j := len(idx)
		idx = append(idx, i)
		for j > 0 && hs[idx[j-1]].Key > h.Key {
			idx[j] = idx[j-1]
			j--
		}
		idx[j] = i
	}
	if len(idx) == 0 {
		return hs, buf
	}
	b := append(buf[:0], '{')
	prev := ""
	for n, i := range idx {
		k := hs[i].Key
		if n > 0 {
			if k == prev { // a repeated header: listed once
				continue
			}
			b = append(b, ',')
		}
		prev = k
		b = appendJSONString(b, k)
		if c, ok := kept[k]; ok {
			b = append(b, ':')
			b = appendJSONString(b, c)
			continue
		}
		b = b[:len(b)-1] // the closing quote is jsonTypeValue's
		if k == stream.HeaderPartition && isJavaInt(hs[i].Value) {
			b = append(b, jsonIntegerValue...)
			continue
		}
		b = append(b, jsonTypeValue...)
	}
	b = append(b, '}')
	return append(hs, kafkago.Header{Key: headerJSONTypes, Value: b}), b
}

// keepJavaTypes returns the headers h of a dead letter or retry copy of
// a record whose headers are hs, and the Java classes of those it keeps as
// the record had them, as Spring Kafka's DeadLetterPublishingRecoverer
// (SCSt's dead-letter writer) copies a record's headers: nil when hs has
// no types header (a record of ours, or of a producer without Spring's
// mapper: appendJSONTypes lists its text headers as Strings). Otherwise
// each header of the record that h still has as the record gave it (the
// text recordHeaders made of its last value) is kept: its value is the
// record's bytes again (a String's or MimeType's JSON as the Java
// producer wrote it, not its decoded text; h is copied when one
// changes), and kept gives its class from the record's types header, ""
// for one the header did not list (byte[]). A header changed on the way,
// or one the dead letter adds (x-exception-*, retry headers), is not in
// kept. Before, the copy listed every text header as java.lang.String: a
// Java consumer of the DLQ read a Long, a MimeType or a byte[] header as
// a String.
func keepJavaTypes(hs []kafkago.Header, h stream.Headers) (stream.Headers, map[string]string) {
	raw, typed := lastJSONTypes(hs)
	if !typed {
		return h, nil
	}
	types := (*jsonTypes)(nil).parse(raw)
	kept := make(map[string]string, len(hs))
	copied := false
	for i := len(hs) - 1; i >= 0; i-- { // each header's last value
		x := hs[i]
		if x.Key == headerJSONTypes {
			continue
		}
		if _, done := kept[x.Key]; done {
			continue
		}
		v, ok := h[x.Key]
		if !ok {
			continue
		}
		c, listed := types[x.Key]
		text := x.Value
		if listed {
			text = jsonHeaderText(c, x.Value)
		}
		if string(text) != v {
			continue // changed on the way
		}
		if string(x.Value) != v {
			if !copied {
				h, copied = maps.Clone(h), true
			}
			h[x.Key] = string(x.Value)
		}
		kept[x.Key] = c
	}
	return h, kept
}

// appendJSONString appends s as a JSON string (valid UTF-8 assumed):
// quotes, backslashes and control characters escaped.
func appendJSONString[S string | []byte](b []byte, s S) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// jsonTypesSize is an upper bound of what appendJSONTypesKept adds to
// the record of e, whose headers in kept are the original record's (dead
// letters keep room for it): the types header and the escaping of values
// starting with '"'.
func jsonTypesSize(e *stream.Envelope, kept map[string]string) int {
	n := len(headerJSONTypes) + headerOverhead + 2
	for k, v := range e.Headers {
		if c, ok := kept[k]; ok {
			if c != "" {
				n += len(k) + len(c) + 6 + escapes(k) + escapes(c)
			}
			continue
		}
		if !listedName(k) || !utf8.ValidString(v) {
			continue
		}
		n += len(k) + 2 + len(jsonIntegerValue) - 1 + 1 + escapes(k) // an Integer's entry is the longer
		if len(v) > 0 && v[0] == '"' {
			n += 2 + escapes(v)
		}
	}
	return n
}

// escapes is how many bytes JSON escaping adds to s.
func escapes(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			n++
		case c < 0x20:
			n += 5
		}
	}
	return n
}

// javaTyped is the NativeHeaders entry (stream.Envelope.NativeHeaders) of
// a header that a record's types header lists with a class that does not
// read as text (java.lang.Integer, Boolean, Long, Double, ...): its
// class and its bytes as written (the JSON of the value, which is also
// its text). A producer writes such a header with that class again while
// the envelope's text is still its bytes (an output of a Go function
// that passed it through, as SCSt passes the header object), so a
// downstream Java SpEL headers['priority'] > 3 still reads a number; a
// header changed on the way is written as the new text, a String.
type javaTyped struct {
	class string
	raw   []byte
}

// javaTypedHeaders adds to native (an envelope's NativeHeaders, nil when
// none yet) the javaTyped entries of record headers hs: nothing, and no
// allocation, for a record without a types header or whose types are all
// text. cache keeps the parsed types header (may be nil). A header the
// record has more than once gets its last value's, the one the handler
// reads (its values are under repeatedKey).
func javaTypedHeaders(hs []kafkago.Header, cache *jsonTypes, native map[string]any) map[string]any {
	raw, typed := lastJSONTypes(hs)
	if !typed {
		return native
	}
	types := cache.parse(raw)
	for _, x := range hs {
		c, ok := types[x.Key]
		if !ok || textClass(c) || x.Key == headerJSONTypes {
			continue
		}
		if native == nil {
			native = make(map[string]any)
		}
		native[x.Key] = javaTyped{class: c, raw: x.Value}
	}
	return native
}

// keptJavaType returns the class to list header k (text v) with, and
// its bytes, when native (an envelope's NativeHeaders) has it as a
// javaTyped whose bytes v still is; ok false otherwise.
func keptJavaType(native map[string]any, k, v string) (javaTyped, bool) {
	jt, ok := native[k].(javaTyped)
	if !ok || string(jt.raw) != v {
		return javaTyped{}, false
	}
	return jt, true
}
