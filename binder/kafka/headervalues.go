package kafka

import (
	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// headerValues are all the values, in record order, of a header that a
// record carries more than once (legal in Kafka). An envelope's Headers
// hold the last of them, as Spring Kafka's header mapper keeps one (a
// Java-typed one's last value is its javaTyped entry); its NativeHeaders
// hold them all, by header name, in a repeatedValues under repeatedKey
// (see repeatedHeaders), so that a dead letter, a retry topic's copy and
// a dead letter's replay write the record's headers as they were
// (appendHeader), as Spring Kafka's DeadLetterPublishingRecoverer copies
// a record's headers.
type headerValues [][]byte

// repeatedValues are the headerValues of a record's repeated headers, by
// header name.
type repeatedValues map[string]headerValues

// repeatedKey is the key of stream.Envelope.NativeHeaders under which an
// envelope carries its record's repeatedValues. It names no header (a NUL
// starts no header name a client sends), so that a function's output,
// which carries the NativeHeaders of the headers it keeps, does not carry
// it: the output is written with each header once, the value the
// function saw (the last), as SCSt writes the single value its message
// holds. Before, the values were kept under the header's own name, and a
// Kafka-to-Kafka function wrote a header its input carried twice, twice.
const repeatedKey = "\x00kafka-repeated-headers"

// repeatedHeaders returns the NativeHeaders of a record whose headers hs
// name some key more than once (distinct is how many keys they name):
// each such key's values under repeatedKey, nil when no key repeats.
func repeatedHeaders(hs []kafkago.Header, distinct int) map[string]any {
	if distinct >= len(hs) {
		return nil
	}
	seen := make(map[string]int, len(hs))
	for _, h := range hs {
		seen[h.Key]++
	}
	rv := make(repeatedValues, len(hs)-distinct)
	for _, h := range hs {
		if seen[h.Key] > 1 {
			rv[h.Key] = append(rv[h.Key], h.Value)
		}
	}
	return map[string]any{repeatedKey: rv}
}

// repeated returns the values of header k in native (repeatedKey) when
// k's header is still the record's (v, its text, reads as the last
// value), else nil: a header changed on the way wins.
func repeated(native map[string]any, k, v string) headerValues {
	rv, ok := native[repeatedKey].(repeatedValues)
	if !ok {
		return nil
	}
	vs := rv[k]
	if len(vs) < 2 || string(vs[len(vs)-1]) != v {
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
