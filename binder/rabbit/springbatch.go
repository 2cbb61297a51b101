package rabbit

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// expandLimit is how large a body may decompress to: max-message-size.
func expandLimit(maxMessageSize int) int {
	if maxMessageSize <= 0 {
		return DefaultMaxMessageSize
	}
	return maxMessageSize
}

// expandBudget bounds the decompressed bodies a consumer channel's
// deliveries hold at once to twice max-message-size (one body at the limit
// handled while the next is decompressed). Without it, the dispatcher
// decompressed every delivery as it came and queued it to its worker:
// with prefetch 128, up to 128 bodies of up to max-message-size each were
// held at once, and a producer of compressible messages could have the
// consumer killed for its memory, the broker redelivering them to the next
// one (a crash loop, nothing dead-lettered).
//
// Why a budget, and in the dispatcher, rather than decompressing in the
// workers: a worker still holds the deliveries it queued (batch mode's
// batch, a pipelined worker's deliveries finished behind an unfinished
// one, up to prefetch), so only a count of bytes bounds them; the
// dispatcher is the only one to wait for it (one goroutine, so no two
// waiters hold a part each), and it waits as it does for a full worker
// queue: the deliveries after stay with the broker's prefetch, in order.
// The worst case (the limit) is reserved before decompressing and the rest
// given back once the size is known; the share is given back when the
// delivery (for a batch, its last part) is settled.
//
// A delivery is never refused for the budget: it is granted once nothing
// else is held, so a limit above the budget (not possible with twice the
// limit, but the rule keeps it so) only waits for the others to settle.
// The wait ends when the consumer stops or its channel is lost (the
// delivery is redelivered), so Stop stays prompt; a Pause holds the
// settlements and so the dispatcher, as prefetch does.
type expandBudget struct {
	max  int64
	peak *atomic.Int64 // the consumer's expandPeak

	mu    sync.Mutex
	held  int64
	freed chan struct{} // capacity 1: a release since the waiter looked
}

func newExpandBudget(maxMessageSize int, peak *atomic.Int64) *expandBudget {
	return &expandBudget{max: 2 * int64(expandLimit(maxMessageSize)), peak: peak, freed: make(chan struct{}, 1)}
}

// expandBudgetPoll is how often a waiting acquire looks whether its
// channel was closed (amqp091-go then closes the deliveries, which the
// dispatcher is not reading while it waits).
const expandBudgetPoll = 250 * time.Millisecond

// acquire reserves n bytes, waiting while they do not fit and something is
// held; false when ctx ended or s's channel closed first.
func (b *expandBudget) acquire(ctx context.Context, s *chanSession, n int64) bool {
	if b == nil {
		return true
	}
	var tick *time.Ticker
	for {
		b.mu.Lock()
		if b.held == 0 || b.held+n <= b.max {
			b.held += n
			if b.held > b.peak.Load() {
				b.peak.Store(b.held) // one acquirer per consumer channel at a time
			}
			b.mu.Unlock()
			if tick != nil {
				tick.Stop()
			}
			return true
		}
		b.mu.Unlock()
		if tick == nil {
			tick = time.NewTicker(expandBudgetPoll)
		}
		select {
		case <-b.freed:
		case <-tick.C:
			if s.ch.IsClosed() {
				tick.Stop()
				return false
			}
		case <-ctx.Done():
			tick.Stop()
			return false
		}
	}
}

// release gives n bytes back.
func (b *expandBudget) release(n int64) {
	if b == nil || n == 0 {
		return
	}
	b.mu.Lock()
	b.held -= n
	b.mu.Unlock()
	select {
	case b.freed <- struct{}{}:
	default:
	}
}

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
	// Sized once from what gzip says it decompresses to (ISIZE, the size
	// mod 2^32 of its last member), capped at the limit, rather than
	// doubled from small: doubling held up to twice the body and copied
	// it each time. A wrong ISIZE (another producer's, several members)
	// costs only the growth it would have saved; one above what deflate
	// can expand to (about 1032:1) is not believed, lest a forged trailer
	// have a small body hold the limit.
	if kind == "gzip" && len(body) >= 4 {
		if size := int64(binary.LittleEndian.Uint32(body[len(body)-4:])); size > 0 && size <= int64(len(body))*1032 {
			out.Grow(int(min(size, int64(limit))) + bytes.MinRead)
		}
	}
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
	var held int64
	if compressed {
		limit := expandLimit(r.c.bd.s.maxMessageSize)
		// The worst case is reserved before decompressing, the rest given
		// back once the size is known.
		if !in.s.mem.acquire(r.loopCtx, in.s, int64(limit)) {
			return []inbound{} // stopping, or the channel is lost: redelivered
		}
		body, err := decompress(kind, d.Body, limit)
		if err != nil {
			in.s.mem.release(int64(limit))
			return bad(fmt.Sprintf("body of content_encoding %q does not decompress", d.ContentEncoding), err)
		}
		held = int64(cap(body))
		in.s.mem.release(int64(limit) - held)
		d.Body, d.ContentEncoding = body, rest
		if _, ok := d.Headers[springAutoDecompressHeader]; ok {
			d.Headers = maps.Clone(d.Headers)
			delete(d.Headers, springAutoDecompressHeader)
		}
	}
	if !batch {
		return []inbound{{d: d, s: in.s, held: held}}
	}
	bodies, err := splitLengthHeader4(d.Body)
	if err != nil {
		in.s.mem.release(held) // dead-lettered as received
		return bad("malformed Spring AMQP batch ("+springBatchFormatHeader+" "+batchFormatLengthHeader4+")", err)
	}
	d.Headers = maps.Clone(d.Headers)
	delete(d.Headers, springBatchFormatHeader)
	in.held = held // given back with the batch's settlement
	g := &splitBatch{orig: in, n: len(bodies)}
	parts := make([]inbound, len(bodies))
	id, idHeader := partID(&d)
	for i, b := range bodies {
		pd := d
		pd.Body = b
		if i > 0 && id != "" {
			pd.Headers = maps.Clone(d.Headers)
			pid := id + "#" + strconv.Itoa(i)
			if idHeader {
				pd.Headers[stream.HeaderID] = pid
			}
			if !idHeader || pd.MessageId == id {
				pd.MessageId = pid
			}
		}
		parts[i] = inbound{d: pd, s: in.s, grp: g}
	}
	return parts
}

// partID is the id a batch's messages would all share (the batch's id
// header, else its message_id), and whether it is the header. expand gives
// the message at position i > 0 the id <id>#<i> instead: the batch carries
// its first message's headers only (SimpleBatchingStrategy), and an
// idempotent consumer keyed on the id would take every message after the
// first for a duplicate (SCSt's listener gets a fresh id per message). The
// ids are the same when the batch is redelivered.
func partID(d *amqp.Delivery) (string, bool) {
	if v, ok := d.Headers[stream.HeaderID]; ok {
		return headerString(v), true
	}
	return d.MessageId, false
}

// settleBad settles a delivery expand could not expand (in.bad) as a
// message whose handler failed for good, without calling the handler;
// true when it is to be requeued after redelivery-delay (only a dead
// letter the DLQ does not take for now, or a stopping consumer's).
func (r *run) settleBad(in inbound) bool {
	env := r.envelope(&in.d)
	return r.settle(in, env, in.bad, nil, false)
}
