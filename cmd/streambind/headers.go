package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// Header values are bytes: Kafka's are, and Spring Cloud Stream's Kafka
// binder writes x-original-partition (4 bytes), x-original-offset and
// x-original-timestamp (8 bytes, milliseconds) as big-endian numbers, as
// the Kafka binder does. show and tail print them safely: text as it is,
// anything else ("binary": not UTF-8, or with control characters other
// than tab and line breaks) as base64 with a marker, and the known numeric
// headers also as the numbers they are.

// secretHeader reports whether the value of header k is a secret, by the
// rule that hides the values of secret keys in the logs, in streambind
// config and in /actuator/config (redact.IsSecretKey: Authorization,
// Proxy-Authorization, x-api-key, password, token, client-secret ...).
// show and tail print such a value as redact.Redacted unless
// --show-secrets. The header "key" (stream.HeaderKey), a message's
// partition key, is a key, not a secret.
func secretHeader(k string) bool {
	return k != stream.HeaderKey && redact.IsSecretKey(k)
}

// showSecretsHelp is the help of show's and tail's --show-secrets.
const showSecretsHelp = "print the values of headers whose names name secrets (Authorization, x-api-key, password, token ...) as they are, not as ******"

// binaryHeaderValue reports whether v is not printable text.
func binaryHeaderValue(v string) bool {
	return !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool {
		return r != '\n' && r != '\t' && r != '\r' && isControl(r)
	})
}

// isControl reports whether r is a C0 or C1 control character or DEL:
// written to a terminal, ESC (or the C1 CSI) starts a sequence that
// recolours, retitles or clears it.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}

// printable is s made safe to print on a terminal line: control
// characters (tabs and line breaks included) and bytes that are not UTF-8
// are written as Go escapes (\x1b, \u009b), the rest as it is. Text
// that the broker stores for a failing app (an exception message) may hold
// anything.
func printable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case isControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// numericHeader decodes the big-endian numeric headers Spring Cloud
// Stream's Kafka binder writes; false for other headers or another length.
func numericHeader(k, v string) (int64, bool) {
	switch {
	case strings.EqualFold(k, stream.HeaderOriginalPartition) && len(v) == 4:
		return int64(int32(binary.BigEndian.Uint32([]byte(v)))), true
	case (strings.EqualFold(k, stream.HeaderOriginalOffset) || strings.EqualFold(k, stream.HeaderOriginalTimestamp)) && len(v) == 8:
		return int64(binary.BigEndian.Uint64([]byte(v))), true
	}
	return 0, false
}

// headerText is a header value as show prints it: text as it is; a known
// numeric header as its number (a timestamp also as its UTC time); other
// binary as "base64:<base64>".
func headerText(k, v string) string {
	if !binaryHeaderValue(v) {
		return v
	}
	if n, ok := numericHeader(k, v); ok {
		if strings.EqualFold(k, stream.HeaderOriginalTimestamp) {
			if n < 0 {
				// Kafka's NO_TIMESTAMP: a record without one (the
				// dead letter's x-original-timestamp-type says
				// NoTimestampType).
				return strconv.FormatInt(n, 10) + " (no timestamp)"
			}
			return strconv.FormatInt(n, 10) + " (" + time.UnixMilli(n).UTC().Format(time.RFC3339Nano) + ")"
		}
		return strconv.FormatInt(n, 10)
	}
	return "base64:" + base64.StdEncoding.EncodeToString([]byte(v))
}

// binaryHeader is a binary header value in tail's JSON: the bytes in
// base64 (what round-trips), and, for a known numeric header, its number.
type binaryHeader struct {
	B64   string `json:"b64"`
	Value *int64 `json:"value,omitempty"`
}

// headersJSON are headers as tail prints them: a text value as a JSON
// string, a binary one as {"b64": "...", "value": n}.
// The values of secret headers (secretHeader) are redact.Redacted unless
// reveal.
func headersJSON(h stream.Headers, reveal bool) map[string]any {
	out := make(map[string]any, len(h))
	for k, v := range h {
		if !reveal && secretHeader(k) {
			out[k] = redact.Redacted
			continue
		}
		if !binaryHeaderValue(v) {
			out[k] = v
			continue
		}
		b := binaryHeader{B64: base64.StdEncoding.EncodeToString([]byte(v))}
		if n, ok := numericHeader(k, v); ok {
			b.Value = &n
		}
		out[k] = b
	}
	return out
}
