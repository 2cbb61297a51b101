package rabbit

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/stream"
)

// Spring AMQP's wire conventions for what its listener container
// post-processes before the listener sees a message (SCSt's
// RabbitMessageChannelBinder gives every container a
// DelegatingDecompressingPostProcessor and de-batches with
// SimpleBatchingStrategy).
const (
	// springBatchFormatHeader marks a batch of a producer with
	// batching-enabled (MessageProperties.SPRING_BATCH_FORMAT); its value
	// batchFormatLengthHeader4 is the only format Spring AMQP has: the body
	// is [4-byte big-endian length][message bytes] repeated.
	springBatchFormatHeader  = "springBatchFormat"
	batchFormatLengthHeader4 = "lengthHeader4"
	// springAutoDecompressHeader is removed with the decompression, as
	// AbstractDecompressingPostProcessor does.
	springAutoDecompressHeader = "springAutoDecompress"
)

// errBadSpringMessage marks a delivery the binder could not turn into
// messages (a malformed Spring AMQP batch, a body that does not
// decompress or decompresses past max-message-size): it is never handed
// to the handler, never requeued, and goes where a failed message goes
// (the DLQ with dlq; else rejected).
var errBadSpringMessage = errors.New("rabbit: undeliverable message")

// splitBatch is the delivery a Spring AMQP batch came in, shared by its
// parts (inbound.grp). Each part is settled as a message of its own would
// be (settle, deadLetter, requeueLater ...), but what goes to the broker
// for the delivery is decided once every part is settled (settled): a nack
// with requeue when a part was to be requeued (the whole batch comes
// again: at least once), else a reject when a part was rejected (dropped,
// or dead-lettered by the broker as one batch), else an ack. A part
// dead-lettered by the binder (republish-to-dlq) or parked in a wait queue
// (retry-delays) counts as settled by an ack, as its copy is safe.
type splitBatch struct {
	orig inbound // the delivery as received (grp nil)
	n    int     // parts

	mu      sync.Mutex
	done    int
	requeue bool
	reject  bool
}

// settled records a part's settlement. When it was the last part it
// returns the delivery and how to settle it, with last true.
func (g *splitBatch) settled(how settlement) (orig inbound, all settlement, last bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch how {
	case settleRequeue:
		g.requeue = true
	case settleReject:
		g.reject = true
	}
	g.done++
	if g.done < g.n {
		return inbound{}, 0, false
	}
	switch {
	case g.requeue:
		all = settleRequeue
	case g.reject:
		all = settleReject
	default:
		all = settleAck
	}
	return g.orig, all, true
}

// requeued reports whether a part already has the delivery requeued: the
// sequential worker does not handle the parts after it (they come again).
func (g *splitBatch) requeued() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requeue
}

// settlement is how a delivery is settled (run.ack).
type settlement uint8

const (
	settleAck     settlement = iota // basic.ack
	settleRequeue                   // basic.nack, requeue
	settleReject                    // basic.nack, no requeue
)

// springDecoder names the decompression of content encoding enc the way
// Spring AMQP's DelegatingDecompressingPostProcessor picks it: the part
// before the first ':' (else ',') is gzip, deflate or zip; rest is the
// content_encoding left (the text after the delimiter, trimmed; "" when
// there is none). ok is false for any other encoding (left as it is).
func springDecoder(enc string) (kind, rest string, ok bool) {
	if enc == "" {
		return "", "", false
	}
	kind = enc
	at := strings.IndexByte(enc, ':')
	if at < 0 {
		at = strings.IndexByte(enc, ',')
	}
	if at > 0 {
		kind, rest = enc[:at], strings.TrimSpace(enc[at+1:])
	}
	switch kind {
	case "gzip", "deflate", "zip":
		return kind, rest, true
	}
	return "", "", false
}

// decompress decompresses body of kind (springDecoder), refusing more than
// limit bytes out: a small body can expand to any size (a zip bomb), and
// the result is held in memory whole.
func decompress(kind string, body []byte, limit int) ([]byte, error) {
	var src io.Reader
	switch kind {
	case "gzip": // GZipPostProcessor: java.util.zip.GZIPOutputStream
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		src = zr
	case "deflate": // DeflaterPostProcessor: java.util.zip.DeflaterOutputStream (zlib format)
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		src = zr
	case "zip": // ZipPostProcessor: java.util.zip.ZipOutputStream, one entry
		zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			return nil, err
		}
		if len(zr.File) == 0 {
			return nil, errors.New("zip archive without an entry")
		}
		f, err := zr.File[0].Open() // ZipInputStream.getNextEntry: the first one
		if err != nil {
			return nil, err
		}
		defer f.Close()
		src = f
	default:
		return nil, fmt.Errorf("unknown encoding %q", kind)
	}
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(src, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if n > int64(limit) {
		return nil, fmt.Errorf("decompresses to more than max-message-size (%d bytes); raise the binder's max-message-size if such messages are expected", limit)
	}
	return out.Bytes(), nil
}

// splitLengthHeader4 splits a Spring AMQP batch body (SimpleBatchingStrategy,
// lengthHeader4) into its messages, sub-slices of body.
func splitLengthHeader4(body []byte) ([][]byte, error) {
	var parts [][]byte
	for off := 0; off < len(body); {
		if len(body)-off < 4 {
			return nil, fmt.Errorf("truncated length at offset %d of %d bytes (message %d)", off, len(body), len(parts)+1)
		}
		n := binary.BigEndian.Uint32(body[off:])
		off += 4
		if n > uint32(len(body)-off) { // also a negative Java int
			return nil, fmt.Errorf("message %d at offset %d has length %d, past the end of the %d-byte batch (insufficient batch data)", len(parts)+1, off-4, int32(n), len(body))
		}
		parts = append(parts, body[off:off+int(n):off+int(n)])
		off += int(n)
	}
	if len(parts) == 0 {
		return nil, errors.New("batch without messages (empty body)")
	}
	return parts, nil
}

// isSpringBatch reports whether headers mark a Spring AMQP batch.
func isSpringBatch(h amqp.Table) bool {
	v, ok := h[springBatchFormatHeader]
	return ok && headerString(v) == batchFormatLengthHeader4
}

// mayExpand is expand's test that costs nothing for the usual delivery
// (no content_encoding, no springBatchFormat header), inlined in dispatch.
func mayExpand(d *amqp.Delivery) bool {
	return d.ContentEncoding != "" || len(d.Headers) > 0 && d.Headers[springBatchFormatHeader] != nil
}

// expand turns a delivery from a Spring AMQP producer into what its
// listener would get, as Spring AMQP's container does before the listener
// (decompression, then de-batching): a compressed body (content_encoding
// gzip, deflate or zip, as SCSt's compress: true sends it) decompressed,
// the encoding left as the text after the delimiter; a batch
// (springBatchFormat lengthHeader4) split into its messages, each with the
// batch's properties and headers but springBatchFormat, in order. nil when
// the delivery is neither (the usual case: no allocation). A delivery that
// cannot be expanded is returned alone with bad set (errBadSpringMessage),
// its body as received, and logged at ERROR.
func (r *run) expand(in inbound) []inbound {
	d := in.d
	kind, rest, compressed := springDecoder(d.ContentEncoding)
	batch := isSpringBatch(d.Headers)
	if !compressed && !batch {
		return nil
	}
	bad := func(what string, err error) []inbound {
		in.bad = fmt.Errorf("%w: %s: %w", errBadSpringMessage, what, stream.Permanent(err))
		r.c.log.Error("rabbit: delivery not handed to the handler: it goes to the DLQ with dlq, else it is rejected",
			"queue", r.queue, "message_id", d.MessageId, "error", in.bad)
		return []inbound{in}
	}
	if compressed {
		limit := r.c.bd.s.maxMessageSize
		if limit <= 0 {
			limit = DefaultMaxMessageSize
		}
		body, err := decompress(kind, d.Body, limit)
		if err != nil {
			return bad(fmt.Sprintf("body of content_encoding %q does not decompress", d.ContentEncoding), err)
		}
		d.Body, d.ContentEncoding = body, rest
		if _, ok := d.Headers[springAutoDecompressHeader]; ok {
			d.Headers = maps.Clone(d.Headers)
			delete(d.Headers, springAutoDecompressHeader)
		}
	}
	if !batch {
		return []inbound{{d: d, s: in.s}}
	}
	bodies, err := splitLengthHeader4(d.Body)
	if err != nil {
		return bad("malformed Spring AMQP batch ("+springBatchFormatHeader+" "+batchFormatLengthHeader4+")", err)
	}
	d.Headers = maps.Clone(d.Headers)
	delete(d.Headers, springBatchFormatHeader)
	g := &splitBatch{orig: in, n: len(bodies)}
	parts := make([]inbound, len(bodies))
	for i, b := range bodies {
		pd := d
		pd.Body = b
		parts[i] = inbound{d: pd, s: in.s, grp: g}
	}
	return parts
}

// settleBad settles a delivery expand could not expand (in.bad) as a
// message whose handler failed for good, without calling the handler;
// true when it is to be requeued after redelivery-delay (only a dead
// letter the DLQ does not take for now, or a stopping consumer's).
func (r *run) settleBad(in inbound) bool {
	env := r.envelope(&in.d)
	env.Received = r.received(&in.d)
	return r.settle(in, env, in.bad, nil, false)
}
