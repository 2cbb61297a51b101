package redis

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/streambind/streambind/stream"
)

// Field names of a stream entry (see the package doc, "Entries").
const (
	// FieldPayload holds the message payload, as it was sent.
	FieldPayload = "payload"
	// FieldKey holds the partition key, when the message has one.
	FieldKey = "key"
	// HeaderFieldPrefix starts the field of each header: header contentType
	// is field "h:contentType".
	HeaderFieldPrefix = "h:"
)

// PartitionsKey (after the key prefix) is the sorted set in which producers
// record the partition count of each partitioned destination (member: the
// destination, score: the count), so that consumers know which partition
// streams to read. No destination may have this name.
const PartitionsKey = "streambind:partitions"

// Headers the binder adds to a dead letter, beside the conventions'
// x-exception-*, x-original-topic, x-original-partition and
// x-original-timestamp.
const (
	// HeaderOriginalStream is the key of the stream the message was read from.
	HeaderOriginalStream = "x-original-stream"
	// HeaderOriginalID is the message's entry ID in that stream.
	HeaderOriginalID = "x-original-id"
	// HeaderOriginalGroup is the consumer group that failed it.
	HeaderOriginalGroup = "x-original-group"
	// HeaderOriginalDeliveries is how many times Redis had delivered it
	// (its delivery count in the group's pending entries list), when
	// known. As an x-original-* header it describes the failed delivery:
	// a replay (streambind dlq replay) does not copy it.
	HeaderOriginalDeliveries = "x-original-deliveries"
)

// HeaderDeliveries is the header a consumer group's message carries to its
// handler: how many times Redis has delivered the entry (its delivery
// count in the group's pending entries list; 1 the first time). The
// binder sets it from Redis's count, whatever the entry holds: a field
// h:x-redis-deliveries written by another program is not passed on, nor
// is it on a message read without a group. It is not written into dead
// letters ([HeaderOriginalDeliveries] is) nor carried to a function's
// output.
const HeaderDeliveries = "x-redis-deliveries"

// setDeliveries makes header x-redis-deliveries of env the binder's: n
// (Redis's delivery count), or none when n is not known (0).
func setDeliveries(env *stream.Envelope, n int64) {
	if n <= 0 {
		delete(env.Headers, HeaderDeliveries)
		return
	}
	if env.Headers == nil {
		env.Headers = make(stream.Headers, 1)
	}
	env.Headers[HeaderDeliveries] = strconv.FormatInt(n, 10)
}

// StreamKey returns the key of the stream of destination dest under key
// prefix prefix: prefix+dest, or prefix+dest+":"+partition for a partition
// (partition >= 0).
func StreamKey(prefix, dest string, partition int) string {
	if partition < 0 {
		return prefix + dest
	}
	return prefix + dest + ":" + strconv.Itoa(partition)
}

// checkDestination reports why dest cannot be a destination, or nil.
func checkDestination(dest string) error {
	switch {
	case dest == "":
		return errors.New("empty destination")
	case dest == PartitionsKey:
		return fmt.Errorf("destination %q is the binder's partition registry key", dest)
	case strings.TrimSpace(dest) != dest:
		return fmt.Errorf("destination %q has leading or trailing white space", dest)
	}
	return nil
}

// encodedSize is what a message costs in bytes: payload, key and header
// names and values (field names included), with the contentType and id
// headers ct and id added when not empty.
func encodedSize(m stream.Envelope, ct, id string) int {
	n := len(FieldPayload) + len(m.Payload)
	if len(m.Key) > 0 {
		n += len(FieldKey) + len(m.Key)
	}
	for k, v := range m.Headers {
		n += len(HeaderFieldPrefix) + len(k) + len(v)
	}
	if ct != "" {
		n += len(HeaderFieldPrefix) + len(stream.HeaderContentType) + len(ct)
	}
	if id != "" {
		n += len(HeaderFieldPrefix) + len(stream.HeaderID) + len(id)
	}
	return n
}

// Field names of the headers every entry carries, prefixed once.
var (
	fieldContentType = HeaderFieldPrefix + stream.HeaderContentType
	fieldID          = HeaderFieldPrefix + stream.HeaderID
)

// encode returns the field-value list of the entry of m: one field per
// header ("h:<name>"), sorted by name so that entries of one producer
// share their field names (Redis then stores the names once per node),
// then "key" when m has a key, then "payload". ct and id, when not empty,
// are the contentType and id headers to add (m has none of that name).
func encode(m stream.Envelope, ct, id string) []any {
	return encodeInto(make([]any, 0, 2*len(m.Headers)+8), m, ct, id)
}

// encodeInto is encode appending to vals (a producer puts the XADD
// command before the fields: see producer.Send).
func encodeInto(vals []any, m stream.Envelope, ct, id string) []any {
	var buf [8]string // the names of most messages' headers, without an allocation
	names := buf[:0]
	for k := range m.Headers {
		names = append(names, k)
	}
	if ct != "" {
		names = append(names, stream.HeaderContentType)
	}
	if id != "" {
		names = append(names, stream.HeaderID)
	}
	slices.Sort(names)
	for _, k := range names {
		switch {
		case k == stream.HeaderContentType && ct != "":
			vals = append(vals, fieldContentType, ct)
		case k == stream.HeaderID && id != "":
			vals = append(vals, fieldID, id)
		default:
			vals = append(vals, HeaderFieldPrefix+k, m.Headers[k])
		}
	}
	if len(m.Key) > 0 {
		vals = append(vals, FieldKey, m.Key)
	}
	payload := m.Payload
	if payload == nil {
		payload = []byte{}
	}
	return append(vals, FieldPayload, payload)
}

// decode turns the fields of an entry into a message. An entry without a
// payload field (written by another program, "XADD orders * sku 42 qty
// 1") is delivered as a JSON object of its fields ({"qty":"1","sku":"42"})
// with content type application/json unless it has an h:contentType
// field; a key field among them is in the object and is the key too.
func decode(values map[string]any) stream.Envelope {
	d := decoder{fields: len(values)}
	for f, raw := range values {
		d.add(f, fieldString(raw))
	}
	return d.finish()
}

// decodeRESP is decode of an entry's RESP bytes (see respConn): its field
// values are slices of resp (but for a large entry's, see respShareMax,
// only the payload's).
func decodeRESP(resp string) stream.Envelope { return decodeRESPWith(resp, nil) }

// decodeRESPWith is decodeRESP taking the headers map from *spare (see
// headerMaps) when it has one.
func decodeRESPWith(resp string, spare *headerMaps) stream.Envelope {
	d := decoder{spare: spare}
	return d.decodeRESP(resp)
}

// decodeRESP decodes the entry's RESP bytes resp with d.
func (d *decoder) decodeRESP(resp string) stream.Envelope {
	w := respWalk{s: resp}
	d.fields = w.fields()
	clone := len(resp) > respShareMax // see respShareMax
	for range d.fields {
		f, v := w.bulk(), w.bulk()
		if clone && f != FieldPayload && !(d.lazy && strings.HasPrefix(f, HeaderFieldPrefix)) {
			f, v = strings.Clone(f), strings.Clone(v)
		}
		d.add(f, v)
	}
	return d.finish()
}

// decodeRESPLazy is decodeRESP for a handler that reads headers through
// Envelope.Header and LoadHeaders (ConsumerSpec.LazyHeaders): the payload
// and the key as decodeRESP reads them, the headers left in the entry's
// RESP bytes for *hdr to read on demand, with n (x-redis-deliveries). An
// entry without a payload field (another program's) is decoded as
// decodeRESP does, headers and all.
func decodeRESPLazy(resp string, hdr *respHeaders, n int64) stream.Envelope {
	d := decoder{lazy: true}
	env := d.decodeRESP(resp)
	if !d.hasPayload {
		env = decodeRESP(resp)
		setDeliveries(&env, n)
		return env
	}
	if d.sawHeaders || n > 0 {
		*hdr = respHeaders{resp: resp, n: n}
		env.SetLazyHeaders(hdr)
	}
	return env
}

// respHeaders are an entry's headers read from its RESP bytes on demand
// (stream.LazyHeaders), as decodeRESP and setDeliveries make them: its
// h:-prefixed fields (the last of a name twice), and x-redis-deliveries
// from Redis's count n (0: none), never the entry's own field of that
// name. They are the entry's record's own (never another entry's), and
// valid until the binder lets go of the entry when it is settled
// (untrack): the stream.LazyHeaders contract.
type respHeaders struct {
	resp string
	n    int64
}

func (h *respHeaders) Lookup(k string) (string, bool) {
	if k == HeaderDeliveries {
		if h.n <= 0 {
			return "", false
		}
		return strconv.FormatInt(h.n, 10), true
	}
	if h.resp == "" {
		return "", false
	}
	w := respWalk{s: h.resp}
	var (
		v     string
		found bool
	)
	for range w.fields() {
		f, fv := w.bulk(), w.bulk()
		if len(f) == len(HeaderFieldPrefix)+len(k) && strings.HasPrefix(f, HeaderFieldPrefix) && f[len(HeaderFieldPrefix):] == k {
			v, found = fv, true
		}
	}
	if found && len(h.resp) > respShareMax {
		v = strings.Clone(v) // see respShareMax
	}
	return v, found
}

func (h *respHeaders) Load() stream.Headers {
	if h.resp == "" {
		return nil
	}
	env := decodeRESP(h.resp)
	setDeliveries(&env, h.n)
	return env.Headers
}

// decoder builds a message from an entry's fields (decode).
type decoder struct {
	env        stream.Envelope
	fields     int // the entry's, for the headers map's size
	foreign    map[string]string
	hasPayload bool
	keyField   string
	spare      *headerMaps // the headers map's, if it has one
	// lazy: the headers are left for respHeaders (decodeRESPLazy), only
	// noted (sawHeaders).
	lazy, sawHeaders bool
}

// headerMaps are empty headers maps made ahead (see fill) for the
// messages of the next reply: intake makes them while it waits for the
// reply (run.whileWaiting), so that decoding an entry only fills one.
type headerMaps []stream.Headers

// fill makes maps until there are n. Each is made with its slot group
// (what the first write to a map of up to 8 entries allocates): written
// once and emptied, which a map of that size leaves in place.
func (h *headerMaps) fill(n int) {
	for len(*h) < n {
		m := make(stream.Headers, 1)
		m[""] = ""
		delete(m, "")
		*h = append(*h, m)
	}
}

// take returns a map made ahead (for up to 8 fields: one slot group), or
// a new one for n fields.
func (h *headerMaps) take(n int) stream.Headers {
	if h != nil && n <= 8 {
		if k := len(*h); k > 0 {
			m := (*h)[k-1]
			(*h)[k-1] = nil
			*h = (*h)[:k-1]
			return m
		}
	}
	return make(stream.Headers, n)
}

func (d *decoder) add(f, v string) {
	switch {
	case f == FieldPayload:
		d.env.Payload = readOnlyBytes(v)
		d.hasPayload = true
	case f == FieldKey:
		d.env.Key = readOnlyBytes(v)
		d.keyField = v
	case strings.HasPrefix(f, HeaderFieldPrefix):
		if d.lazy {
			d.sawHeaders = true
			return
		}
		if d.env.Headers == nil {
			d.env.Headers = d.spare.take(d.fields)
		}
		d.env.Headers[f[len(HeaderFieldPrefix):]] = v
	default:
		if d.foreign == nil {
			d.foreign = make(map[string]string)
		}
		d.foreign[f] = v
	}
}

func (d *decoder) finish() stream.Envelope {
	env := d.env
	if !d.hasPayload {
		foreign := d.foreign
		if foreign == nil {
			foreign = map[string]string{}
		}
		if env.Key != nil {
			// Another program's field named key is data of its entry
			// too: in the object, as well as the message key.
			foreign[FieldKey] = d.keyField
		}
		b, _ := json.Marshal(foreign) // a map of strings always encodes
		env.Payload = b
		if env.Headers[stream.HeaderContentType] == "" {
			env.Headers = env.Headers.With(stream.HeaderContentType, "application/json")
		}
	}
	if env.Payload == nil {
		env.Payload = []byte{}
	}
	return env
}

// readOnlyBytes returns the bytes of s without a copy: a payload is most
// of a message, and copying it cost an allocation of its size per message.
// It is safe for the field values decode gets: go-redis reads each bulk
// string into a buffer of its own (proto.Reader.readStringReply) and
// wraps it as a string, and nothing refers to that string once decode
// returns but the message (the entry drops its field map); decodeRESP's
// values are slices of a string made for their entry alone (respConn),
// which the message (its ID and header values too) refers to. A message is
// read-only (stream.Handler); a handler that wrote into it anyway would
// change only its own message's bytes. The capacity is the length, so
// that an append makes a copy rather than writing past them.
func readOnlyBytes(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func fieldString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// idTime returns the time of entry ID id (its milliseconds part), or the
// zero time.
func idTime(id string) time.Time {
	ms, _, ok := strings.Cut(id, "-")
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// compareIDs compares two entry IDs ("ms-seq") numerically.
func compareIDs(a, b string) int {
	am, as := splitID(a)
	bm, bs := splitID(b)
	switch {
	case am != bm:
		if am < bm {
			return -1
		}
		return 1
	case as != bs:
		if as < bs {
			return -1
		}
		return 1
	}
	return 0
}

func splitID(id string) (uint64, uint64) {
	ms, seq, _ := strings.Cut(id, "-")
	m, _ := strconv.ParseUint(ms, 10, 64)
	s, _ := strconv.ParseUint(seq, 10, 64)
	return m, s
}
