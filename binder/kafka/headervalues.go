package kafka

import (
	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// headerValues are all the values, in record order, of a header that a
// record carries more than once (legal in Kafka). An envelope's Headers
// hold the last of them, as Spring Kafka's header mapper keeps one; its
// NativeHeaders hold them all under the header's name (see
// repeatedHeaders), so that a dead letter, a retry topic's copy and a
// dead letter's replay write the record's headers as they were
// (appendHeader).
type headerValues [][]byte

// repeatedHeaders returns the NativeHeaders of a record whose headers hs
// name some key more than once (distinct is how many keys they name):
// each such key's values, nil when no key repeats.
func repeatedHeaders(hs []kafkago.Header, distinct int) map[string]any {
	if distinct >= len(hs) {
		return nil
	}
	seen := make(map[string]int, len(hs))
	for _, h := range hs {
		seen[h.Key]++
	}
	native := make(map[string]any, len(hs)-distinct)
	for _, h := range hs {
		if seen[h.Key] > 1 {
			vs, _ := native[h.Key].(headerValues)
			native[h.Key] = append(vs, h.Value)
		}
	}
	return native
}

// repeated returns native[k]'s values when k's header is still the
// record's (v, its text, reads as the last value), else nil: a header
// changed on the way wins.
func repeated(native map[string]any, k, v string) headerValues {
	vs, ok := native[k].(headerValues)
	if !ok || len(vs) < 2 || string(vs[len(vs)-1]) != v {
		return nil
	}
	return vs
}

// appendHeader appends header k (text v) to hs: every value it had in
// the record it was read from (NativeHeaders native, see repeated), else
// v once.
func appendHeader(hs []kafkago.Header, native map[string]any, k, v string) []kafkago.Header {
	if vs := repeated(native, k, v); vs != nil {
		for _, x := range vs {
			hs = append(hs, kafkago.Header{Key: k, Value: x})
		}
		return hs
	}
	return append(hs, kafkago.Header{Key: k, Value: []byte(v)})
}

// repeatedSize is what the values of e's repeated headers other than
// the last (which e's Headers count) add to its record: names, values
// and each header's varints (headerOverhead).
func repeatedSize(e *stream.Envelope) int {
	n := 0
	for k, v := range e.Headers {
		if vs := repeated(e.NativeHeaders, k, v); vs != nil {
			for _, x := range vs[:len(vs)-1] {
				n += len(k) + len(x) + headerOverhead
			}
		}
	}
	return n
}
