package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/streambind/streambind/stream"
)

func TestHeaderText(t *testing.T) {
	off := string(binary.BigEndian.AppendUint64(nil, 5))
	part := string(binary.BigEndian.AppendUint32(nil, 2))
	ts := string(binary.BigEndian.AppendUint64(nil, 1764570000000))
	for _, tc := range []struct{ k, v, want string }{
		{"customer", "c-7", "c-7"},
		{"note", "two\nlines", "two\nlines"},
		{stream.HeaderOriginalOffset, off, "5"},
		{stream.HeaderOriginalPartition, part, "2"},
		{stream.HeaderOriginalTimestamp, ts, "1764570000000 (2025-12-01T06:20:00Z)"},
		{stream.HeaderOriginalOffset, "\x00\x01", "base64:AAE="}, // not 8 bytes
		{"raw", "\xff\xfe", "base64://4="},
		{"nul", "a\x00b", "base64:YQBi"},
	} {
		if got := headerText(tc.k, tc.v); got != tc.want {
			t.Errorf("headerText(%q, %q) = %q, want %q", tc.k, tc.v, got, tc.want)
		}
	}

	h := stream.Headers{"customer": "c-7", stream.HeaderOriginalOffset: off, "raw": "\xff\xfe"}
	b, err := json.Marshal(headersJSON(h, false))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"customer":"c-7","raw":{"b64":"//4="},"x-original-offset":{"b64":"AAAAAAAAAAU=","value":5}}`; string(b) != want {
		t.Errorf("headersJSON: %s, want %s", b, want)
	}
	var back map[string]json.RawMessage
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var raw struct{ B64 string }
	_ = json.Unmarshal(back["raw"], &raw)
	if got, _ := base64.StdEncoding.DecodeString(raw.B64); string(got) != h["raw"] {
		t.Errorf("raw does not round-trip: %q", got)
	}
}
