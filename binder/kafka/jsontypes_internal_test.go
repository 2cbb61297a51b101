package kafka

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// TestAppendJSONTypesNoAlloc: the producer's types header costs no
// allocation per record once its buffer (kept in the pooled sendReq) has
// grown, and lists a repeated header once.
func TestAppendJSONTypesNoAlloc(t *testing.T) {
	hs := []kafkago.Header{{Key: "x-b", Value: []byte("1")}, {Key: "contentType", Value: []byte("application/json")},
		{Key: "x-b", Value: []byte("2")}, {Key: "id", Value: []byte("0f8b")}, {Key: "bin", Value: []byte{0xff}}}
	scratch := make([]kafkago.Header, 0, len(hs)+1)
	var buf []byte
	out, buf := appendJSONTypes(append(scratch[:0], hs...), buf)
	const want = `{"contentType":"java.lang.String","id":"java.lang.String","x-b":"java.lang.String"}`
	if got := string(out[len(out)-1].Value); out[len(out)-1].Key != headerJSONTypes || got != want {
		t.Fatalf("types header %s = %s, want %s", out[len(out)-1].Key, got, want)
	}
	if a := testing.AllocsPerRun(100, func() { _, buf = appendJSONTypes(append(scratch[:0], hs...), buf) }); a != 0 {
		t.Errorf("appendJSONTypes: %v allocations per record, want 0", a)
	}
}

// TestKeepJavaTypes: a dead letter keeps the Java class and bytes of the
// headers it still has as a Java producer's record gave them (the last
// value of a repeated one); a header changed on the way, one the record
// lacks and every header of a record without a types header are typed as
// ours (appendJSONTypes). The types header's room (jsonTypesSize) bounds
// what the record gets.
func TestKeepJavaTypes(t *testing.T) {
	hs := []kafkago.Header{
		{Key: "contentType", Value: []byte(`"application/json"`)},
		{Key: "n", Value: []byte("1")}, {Key: "n", Value: []byte("7")},
		{Key: "changed", Value: []byte("a")},
		{Key: "blob", Value: []byte("abc")},
		{Key: headerJSONTypes, Value: []byte(`{"contentType":"java.lang.String","n":"java.lang.Long","changed":"java.lang.String"}`)},
	}
	h := stream.Headers{"contentType": "application/json", "n": "7", "changed": "b", "blob": "abc", "x-mine": "m", stream.HeaderExceptionMessage: "e"}
	out, kept := keepJavaTypes(hs, h)
	if want := map[string]string{"contentType": javaString, "n": "java.lang.Long", "blob": ""}; !maps.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	if out["contentType"] != `"application/json"` || h["contentType"] != "application/json" {
		t.Errorf("contentType %q (the record's bytes wanted), the caller's %q (unchanged wanted)", out["contentType"], h["contentType"])
	}
	dl := stream.Envelope{Headers: out}
	rec := deadLetterRecord("t", 0, &dl, kept)
	last := rec.Headers[len(rec.Headers)-1]
	const want = `{"changed":"java.lang.String","contentType":"java.lang.String","n":"java.lang.Long","x-mine":"java.lang.String"}`
	if last.Key != headerJSONTypes || string(last.Value) != want {
		t.Errorf("types header %s = %s, want %s", last.Key, last.Value, want)
	}
	if n := jsonTypesSize(&dl, kept); n < len(last.Key)+len(last.Value)+headerOverhead {
		t.Errorf("jsonTypesSize %d < the header's %d bytes", n, len(last.Key)+len(last.Value)+headerOverhead)
	}
	if out, kept := keepJavaTypes(hs[:5], h); kept != nil || !maps.Equal(out, h) {
		t.Errorf("a record without a types header: kept %v, headers %v", kept, out)
	}
}

// TestFitDeadLetterKeepJavaTypesOfCut: a kept header whose value the
// fitting cut (a contentType of kilobytes, "…[cut]") is no longer the
// JSON of its Java class: the dead letter's types header leaves it out
// (byte[]), so that a Java DLQ consumer does not read broken JSON as a
// MimeType; the kept headers the fitting left alone keep their classes.
func TestFitDeadLetterKeepJavaTypesOfCut(t *testing.T) {
	long := "application/json;x=" + strings.Repeat("a", 4000)
	m := &kafkago.Message{Topic: "orders", Value: []byte("v"), Headers: []kafkago.Header{
		{Key: "contentType", Value: []byte(`"` + long + `"`)},
		{Key: "n", Value: []byte("7")},
		{Key: headerJSONTypes, Value: []byte(`{"contentType":"org.springframework.util.MimeType","n":"java.lang.Long"}`)},
	}}
	env := stream.Envelope{Payload: m.Value, Headers: stream.Headers{"contentType": long, "n": "7"}}
	const mimeType = "org.springframework.util.MimeType"
	dl, kept := deadLetterEnvelope(m, env, errors.New("failed"))
	if kept["contentType"] != mimeType || kept["n"] != "java.lang.Long" {
		t.Fatalf("kept %v before fitting", kept)
	}
	orig := maps.Clone(kept)
	fit, kept := fitDeadLetterKept(&dl, 2048, false, kept)
	if !fit.Fits || !strings.Contains(dl.Headers["contentType"], "[cut") {
		t.Fatalf("fit %+v, contentType %.40q…: it cut wanted", fit, dl.Headers["contentType"])
	}
	if orig["contentType"] != mimeType {
		t.Errorf("the caller's kept changed: %v", orig)
	}
	rec := deadLetterRecord("orders.dlq", 0, &dl, kept)
	last := rec.Headers[len(rec.Headers)-1]
	if last.Key != headerJSONTypes {
		t.Fatalf("last header %s, want %s", last.Key, headerJSONTypes)
	}
	var types map[string]string
	if err := json.Unmarshal(last.Value, &types); err != nil {
		t.Fatal(err)
	}
	if c, ok := types["contentType"]; ok {
		t.Errorf("types header lists the cut contentType as %s: %s", c, last.Value)
	}
	if types["n"] != "java.lang.Long" {
		t.Errorf("types header %s: n java.lang.Long wanted", last.Value)
	}
}
