package outbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/streambind/streambind/stream"
)

// encodeHeaders is the headers column (jsonb) of h. jsonb stores text: it
// replaces invalid UTF-8 and refuses NUL. So headers whose keys and values
// are all valid UTF-8 without NUL are stored as a JSON object of strings
// (readable in psql), and otherwise as a JSON array of base64 (standard
// encoding) strings, key, value, key, value ..., which gives back any
// bytes. The JSON type tells the two apart.
func encodeHeaders(h stream.Headers) ([]byte, error) {
	plain := true
	for k, v := range h {
		if !textSafe(k) || !textSafe(v) {
			plain = false
			break
		}
	}
	if plain {
		if h == nil {
			return []byte("{}"), nil
		}
		return json.Marshal(map[string]string(h))
	}
	kv := make([]string, 0, 2*len(h))
	for k, v := range h {
		kv = append(kv, base64.StdEncoding.EncodeToString([]byte(k)), base64.StdEncoding.EncodeToString([]byte(v)))
	}
	return json.Marshal(kv)
}

func textSafe(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// decodeHeaders reads what encodeHeaders stored. A row written otherwise
// (by hand, by another program) that is neither form is an error: the
// relay sets it aside (see Relay).
func decodeHeaders(b []byte) (stream.Headers, error) {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return nil, nil
	case len(b) > 0 && b[0] == '{':
		var h map[string]string
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, fmt.Errorf("headers are not a JSON object of strings: %w", err)
		}
		return h, nil
	case len(b) > 0 && b[0] == '[':
		var kv []string
		if err := json.Unmarshal(b, &kv); err != nil {
			return nil, fmt.Errorf("headers are not a JSON array of base64 strings: %w", err)
		}
		if len(kv)%2 != 0 {
			return nil, errors.New("headers are a JSON array of an odd number of strings; want key, value pairs")
		}
		h := make(stream.Headers, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, err := base64.StdEncoding.DecodeString(kv[i])
			if err != nil {
				return nil, fmt.Errorf("headers: key %d is not base64: %w", i/2, err)
			}
			v, err := base64.StdEncoding.DecodeString(kv[i+1])
			if err != nil {
				return nil, fmt.Errorf("headers: value of %q is not base64: %w", k, err)
			}
			h[string(k)] = string(v)
		}
		return h, nil
	}
	// The value is not quoted: headers may hold secrets.
	return nil, fmt.Errorf("headers are a JSON %s; want an object of strings or an array of base64 strings", jsonKind(b))
}

func jsonKind(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "string"
	case b[0] == 't' || b[0] == 'f':
		return "boolean"
	}
	return "number"
}
