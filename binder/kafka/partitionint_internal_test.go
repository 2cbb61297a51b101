package kafka

import (
	"encoding/json"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// TestPartitionHeaderWrittenAsInteger: the scst_partition header goes as
// SCSt writes it, its JSON (2) listed as java.lang.Integer in
// spring_json_header_types (SCSt sets the header to its PartitionHandler's
// int; BinderHeaderMapper JSON-encodes a non-String), not as a
// java.lang.String; a value that is no Java int stays a String. Both
// forms read back as the text, so records written before still read.
func TestPartitionHeaderWrittenAsInteger(t *testing.T) {
	for _, tc := range []struct{ v, class string }{
		{"2", javaInteger}, {"0", javaInteger}, {"-1", javaInteger},
		{"02", javaString}, {"2147483648", javaString}, {"x", javaString}, {"", javaString},
	} {
		hs := []kafkago.Header{{Key: stream.HeaderPartition, Value: []byte(tc.v)}, {Key: "contentType", Value: []byte("application/json")}}
		hs, _ = appendJSONTypes(hs, nil)
		raw, ok := lastJSONTypes(hs)
		if !ok {
			t.Fatalf("%q: no types header", tc.v)
		}
		var types map[string]string
		if err := json.Unmarshal(raw, &types); err != nil {
			t.Fatalf("%q: types header %s: %v", tc.v, raw, err)
		}
		if types[stream.HeaderPartition] != tc.class || types["contentType"] != javaString {
			t.Errorf("%q: types header %s, want scst_partition %s", tc.v, raw, tc.class)
		}
		if string(hs[0].Value) != tc.v {
			t.Errorf("%q: value written %q", tc.v, hs[0].Value)
		}
		h, _ := recordHeaders(hs, nil, func(b []byte) string { return string(b) })
		if h[stream.HeaderPartition] != tc.v {
			t.Errorf("%q: reads back as %q", tc.v, h[stream.HeaderPartition])
		}
	}
	// A record of an earlier streambind (listed as a String) reads the same.
	old := []kafkago.Header{{Key: stream.HeaderPartition, Value: []byte("2")}, {Key: headerJSONTypes, Value: []byte(`{"scst_partition":"java.lang.String"}`)}}
	if h, _ := recordHeaders(old, nil, func(b []byte) string { return string(b) }); h[stream.HeaderPartition] != "2" {
		t.Errorf("an earlier record's scst_partition reads as %q", h[stream.HeaderPartition])
	}
	// jsonTypesSize bounds what is appended (dead letters keep room for it).
	e := stream.Envelope{Headers: stream.Headers{stream.HeaderPartition: "2147483647"}}
	hs, _ := appendJSONTypes([]kafkago.Header{{Key: stream.HeaderPartition, Value: []byte("2147483647")}}, nil)
	if got, bound := len(hs[1].Key)+len(hs[1].Value), jsonTypesSize(&e, nil); got > bound {
		t.Errorf("types header takes %d bytes, jsonTypesSize says at most %d", got, bound)
	}
}
