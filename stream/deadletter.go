package stream

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/streambind/streambind/redact"
)

// DeadLetterHeaders returns a copy of the original headers plus the
// x-exception-* headers of the conventions describing err: the message, the
// error chain and the Go type of the root cause. Binders add their
// x-original-* headers.
//
// x-exception-stacktrace has one line per error of the chain, outermost
// first, as "<Go type>: <text>", where the text is what that error adds to
// the ones it wraps: "charge: card declined" wrapping "card declined" is
// listed as "charge", "card declined (attempt 3)" as "… (attempt 3)". The
// errors of a joined error ([errors.Join], fmt.Errorf with several %w) are
// listed in turn, indented one level deeper. So every text appears once
// and a deep chain costs the length of its texts, not that times its depth.
// The [PermanentError] marker is not listed. x-exception-fqcn is the Go
// type of the first innermost error, but *stream.ConversionError for a
// conversion failure ([ConversionError] in the chain). For a
// handler panic ([*PanicError] in the chain), the goroutine's stack at the
// panic follows the chain's lines (at most 16 KiB of it, the frames
// nearest the panic).
//
// When the app registered errors by name (WithNamedError,
// WithNamedErrorAs), x-exception-fqcn is the name of the one the root
// cause matches, else of the one the error matches
// ("java.lang.IllegalStateException"), as SCSt's dashboards expect.
func DeadLetterHeaders(orig Headers, err error) Headers {
	h := make(Headers, len(orig)+6)
	for k, v := range orig {
		h[k] = v
	}
	if err == nil {
		err = errors.New("unknown error")
	}
	var name func(error) string
	var nc *namedCause
	if errors.As(err, &nc) {
		name = nc.name
		if err == error(nc) {
			err = nc.err
		}
	}
	// A replayed copy's target group says nothing about its dead letter,
	// which is the group's own already; kept, a dead-letters-of reader
	// (a group of its own) would skip it.
	delete(h, HeaderReplayGroup)
	delete(h, headerRetryMark)                 // retrytopics.go
	if re, ok := err.(*retriesExhausted); ok { // retrytopics.go
		h[HeaderRetryAttempts] = strconv.Itoa(re.attempts)
		if !re.first.IsZero() {
			h[HeaderRetryFirstFailure] = strconv.FormatInt(re.first.UnixMilli(), 10)
			delete(h, HeaderRetryDue)
		}
		err = re.err
	}
	// Permanent only says "do not retry"; the message is the error's own,
	// as SCSt's is the exception's (dashboards and dlq --exception group
	// dead letters by it). The stack trace leaves the marker out too.
	msg := err
	for {
		p, ok := msg.(*PermanentError)
		if !ok || p.Err == nil {
			break
		}
		msg = p.Err
	}
	// Redacted as the log lines of the same failure are (a handler's
	// error may quote a DSN with its password): whoever reads the DLQ,
	// or streambind dlq ls, sees no more than the logs show.
	h[HeaderExceptionMessage] = redact.String(msg.Error())
	var w chainWriter
	w.write(err, 0)
	trace := strings.TrimSuffix(w.b.String(), "\n")
	// A handler panic's goroutine stack follows, as SCSt's header is the
	// exception's stack trace (function names, files and lines, and the
	// arguments' words in hex: no values of the message).
	var pe *PanicError
	if errors.As(err, &pe) && len(pe.Stack) > 0 {
		trace += "\n" + panicStack(pe.Stack)
	}
	h[HeaderExceptionStacktrace] = redact.String(trace)
	fqcn := ""
	if name != nil {
		if fqcn = name(w.root); fqcn == "" {
			fqcn = name(err)
		}
	}
	if fqcn == "" {
		// A conversion failure is named as such, not by the converter's
		// own error (*json.SyntaxError, *errors.errorString), as SCSt's
		// is MessageConversionException: a DLQ router keyed on the fqcn
		// tells it from a handler's error.
		var ce *ConversionError
		if errors.As(err, &ce) {
			fqcn = fmt.Sprintf("%T", ce)
		} else {
			fqcn = fmt.Sprintf("%T", w.root)
		}
	}
	h[HeaderExceptionFQCN] = fqcn
	return h
}

// maxPanicStack bounds the goroutine stack of a handler panic in
// x-exception-stacktrace and in its log line (a deep recursion's runs to
// tens of KiB); the frames nearest the panic are kept. The binders fit the
// dead letter to the broker's limits beyond that ([FitDeadLetter]).
const maxPanicStack = 16 << 10

// panicStack is stack, a [PanicError]'s, without its last line break and
// cut to maxPanicStack bytes ("…[cut]" at the end).
func panicStack(stack []byte) string {
	s := strings.TrimRight(string(stack), "\n")
	if len(s) > maxPanicStack {
		s = truncateUTF8(s, maxPanicStack) + cutMark
	}
	return s
}

// namedCause is the error an app hands its binder for a message that
// failed for good when errors are registered by name: the error, and how
// to name it for x-exception-fqcn. Its text and chain are the error's.
type namedCause struct {
	err  error
	name func(error) string
}

func (e *namedCause) Error() string { return e.err.Error() }
func (e *namedCause) Unwrap() error { return e.err }

// chainWriter renders an error tree for x-exception-stacktrace.
type chainWriter struct {
	b     strings.Builder
	root  error // the first leaf
	nodes int
}

// maxChainNodes bounds the errors listed (a hostile or cyclic Unwrap).
const maxChainNodes = 256

func (w *chainWriter) write(e error, depth int) {
	for e != nil {
		if w.nodes++; w.nodes > maxChainNodes {
			w.b.WriteString("…\n")
			return
		}
		if nc, ok := e.(*namedCause); ok { // not an error of the chain
			e = nc.err
			continue
		}
		if pe, ok := e.(*PermanentError); ok && pe.Err != nil { // a marker, not an error of the chain
			e = pe.Err
			continue
		}
		var kids []error
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			if k := u.Unwrap(); k != nil {
				kids = []error{k}
			}
		case interface{ Unwrap() []error }:
			for _, k := range u.Unwrap() {
				if k != nil {
					kids = append(kids, k)
				}
			}
		}
		text := e.Error()
		if len(kids) == 1 {
			text = withoutInner(text, kids[0].Error())
		} else {
			// A joined error's text is its errors' texts, one per line.
			for _, k := range kids {
				text = strings.Replace(text, k.Error(), "", 1)
			}
			text = strings.Join(strings.Fields(strings.Trim(text, " \n:;,")), " ")
		}
		w.b.WriteString(strings.Repeat("  ", min(depth, 16)))
		if text == "" {
			fmt.Fprintf(&w.b, "%T\n", e)
		} else {
			fmt.Fprintf(&w.b, "%T: %s\n", e, text)
		}
		switch len(kids) {
		case 0:
			if w.root == nil {
				w.root = e
			}
			return
		case 1:
			e = kids[0]
		default:
			for _, k := range kids {
				w.write(k, depth+1)
			}
			return
		}
	}
}

// withoutInner removes the text of a wrapped error from its wrapper's:
// "outer: inner" → "outer", "inner (ctx)" → "… (ctx)"; a text that does not
// contain the inner one is kept whole.
func withoutInner(text, inner string) string {
	if inner == "" {
		return text
	}
	if own, ok := strings.CutSuffix(text, inner); ok {
		return strings.TrimRight(own, " :\n")
	}
	i := strings.LastIndex(text, inner)
	if i < 0 {
		return text
	}
	return strings.TrimSpace(text[:i] + "…" + text[i+len(inner):])
}

// DLQName is the dead-letter destination of a Kafka-style (and in-process)
// binder: error.<destination>.<group>.
func DLQName(destination, group string) string {
	return "error." + destination + "." + group
}

// HeaderTruncated, on a dead letter, lists what [FitDeadLetter] removed or
// shortened to make it fit the broker's limits, comma-separated:
// "x-exception-stacktrace" or "x-exception-message" (shortened),
// "header:<name>" (an original header dropped), "headers:<n>" (n more
// original headers dropped, past 1 KiB of names), "payload" (the payload
// dropped: a headers-only dead letter whose x-original-* headers locate the
// original message), "key" (a key sent as a header, RabbitMQ's, dropped:
// [HeaderKeySize] says its size).
const HeaderTruncated = "x-streambind-truncated"

// On a headers-only dead letter, the size in bytes and the SHA-256 (hex) of
// the payload it no longer carries, so the original can be identified even
// where the broker has no message coordinates (a RabbitMQ message without a
// message id).
const (
	HeaderPayloadSize   = "x-streambind-payload-size"
	HeaderPayloadSHA256 = "x-streambind-payload-sha256"
)

// HeaderKeySize, on a dead letter, is the size in bytes of the key it no
// longer carries: a key that travels as a header
// ([DeadLetterLimit].KeyHeader, RabbitMQ's x-streambind-key) and was
// dropped to fit the broker's limit on headers (x-streambind-truncated
// lists "key").
const HeaderKeySize = "x-streambind-key-size"

// DeadLetterLimit is what a broker accepts in one message, as far as a
// dead letter is concerned. A zero field is no bound.
type DeadLetterLimit struct {
	// MaxHeaderBytes bounds the encoded size of all headers together
	// (RabbitMQ: they travel in one content-header frame, which must fit
	// frame_max).
	MaxHeaderBytes int
	// MaxBytes bounds payload + key + headers (Kafka: the topic's
	// max.message.bytes less the record batch overhead).
	MaxBytes int
	// MaxPayloadBytes bounds payload + key on their own (RabbitMQ:
	// max_message_size bounds the body). A payload over it is dropped
	// first, before anything else is cut.
	MaxPayloadBytes int
	// HeaderOverhead is what each header costs on the wire beyond the bytes
	// of its name and value (length prefixes, type tags).
	HeaderOverhead int
	// DropPayload asks for a headers-only dead letter whatever the sizes
	// (a broker refused the fitted one for its size: the limit it was
	// fitted to was stale).
	DropPayload bool
	// KeyHeader, when set, is the header the binder sends the key in
	// (RabbitMQ's x-streambind-key: AMQP has no key field): the key is
	// counted with the headers (in MaxHeaderBytes, not MaxPayloadBytes)
	// and dropped as they are, largest first, never shortened; when it
	// goes, x-streambind-truncated lists "key" and [HeaderKeySize] says
	// its size. It is not dropped with the payload. dl.Key holds the key
	// still, or nil, when FitDeadLetter returns.
	KeyHeader string
	// Unsendable, when set, reports header names the broker cannot carry
	// (NATS: names another client wrote that its binder refuses to
	// send). Such headers are dropped first, whatever the sizes, and
	// listed as the headers dropped to fit are.
	Unsendable func(name string) bool
}

// DeadLetterFit says what [FitDeadLetter] did.
type DeadLetterFit struct {
	// Cut lists what was shortened or removed, in the words of
	// HeaderTruncated; empty when the dead letter fitted as it was.
	Cut []string
	// HeadersOnly is true when the payload had to go (and the key, unless
	// it is sent as a header: [DeadLetterLimit].KeyHeader).
	HeadersOnly bool
	// KeyDropped is true when the key had to go on its own (a key sent
	// as a header, [DeadLetterLimit].KeyHeader).
	KeyDropped bool
	// Fits is false when not even a headers-only dead letter fits the
	// limit: the binder drops the message (logging it at ERROR and
	// counting it).
	Fits bool
}

// String describes the fit for a log line.
func (f DeadLetterFit) String() string {
	switch {
	case !f.Fits:
		return "does not fit even without payload"
	case len(f.Cut) == 0:
		return "fits"
	default:
		return "cut: " + strings.Join(f.Cut, ",")
	}
}

// minExceptionText is what FitDeadLetter keeps of x-exception-stacktrace
// and x-exception-message before it drops other headers.
const minExceptionText = 256

// maxCutNames bounds the "header:<name>" entries of x-streambind-truncated
// (their bytes, commas included): the headers dropped beyond it are
// counted in one entry "headers:<n>" instead of named. Unbounded, the list
// of a message with thousands of small headers grew by more than each drop
// saved, so a dead letter that fitted without them was refused as not
// fitting at all (and dropped), and its WARN line carried every name.
const maxCutNames = 1024

// cutMark ends a header value that FitDeadLetter shortened.
const cutMark = "…[cut]"

// FitDeadLetter makes dl fit lim, changing dl in place. A payload (with
// its key) that alone exceeds MaxPayloadBytes or MaxBytes, or any payload
// when DropPayload is set, is dropped first, and so are the headers
// lim.Unsendable reports. Then, in this order, each step only if the
// previous ones were not enough:
//
//  1. x-exception-stacktrace, then x-exception-message, are shortened (to no
//     less than 256 bytes each), ending in "…[cut]"; then, the same way
//     and largest first, the values of the other headers kept to the end
//     (id, contentType, other x-original-* and x-exception-* headers: an
//     id of kilobytes, another tool's headers), an id ending in
//     "…[cut sha256:<16 hex digits of the whole id's SHA-256>]" instead,
//     so that ids that differ only past the cut stay distinct;
//  2. original headers other than the x-exception-*, x-original-*, id and
//     contentType headers are dropped, largest first, and so is a key
//     sent as a header (lim.KeyHeader) among them: listed as "key", its
//     size in x-streambind-key-size;
//  3. the payload and key are dropped (a headers-only dead letter: its
//     x-original-* headers locate the original message, its
//     x-streambind-payload-size and -sha256 headers identify the payload,
//     and the x-exception-* headers say why it failed);
//  4. if it still does not fit, Fits is false.
//
// When anything was cut, the header x-streambind-truncated lists it (the
// dropped headers by name up to 1 KiB of names, the rest as one entry
// "headers:<n>"). It takes time linear in the number of headers (and
// n log n to order them). dl's Headers must be a map the caller owns (as
// [DeadLetterHeaders] returns).
func FitDeadLetter(dl *Envelope, lim DeadLetterLimit) DeadLetterFit {
	var fit DeadLetterFit
	if dl.Headers == nil {
		dl.Headers = Headers{}
	}
	// A key sent as a header is fitted as one, and given back as the key.
	var key []byte
	if lim.KeyHeader != "" && len(dl.Key) > 0 {
		key, dl.Key = dl.Key, nil
		dl.Headers[lim.KeyHeader] = string(key)
		defer func() {
			if _, kept := dl.Headers[lim.KeyHeader]; kept {
				delete(dl.Headers, lim.KeyHeader)
				dl.Key = key
			}
		}()
	}
	// hsize is the headers' size as lim counts them, kept up to date by
	// set and del; cutLen is len(strings.Join(fit.Cut, ",")), kept by cut
	// and uncut.
	hsize, cutLen := 0, 0
	for k, v := range dl.Headers {
		hsize += len(k) + len(v) + lim.HeaderOverhead
	}
	set := func(k, v string) {
		if old, ok := dl.Headers[k]; ok {
			hsize -= len(k) + len(old) + lim.HeaderOverhead
		}
		dl.Headers[k] = v
		hsize += len(k) + len(v) + lim.HeaderOverhead
	}
	del := func(k string) {
		if old, ok := dl.Headers[k]; ok {
			hsize -= len(k) + len(old) + lim.HeaderOverhead
			delete(dl.Headers, k)
		}
	}
	cut := func(what string) {
		if len(fit.Cut) > 0 {
			cutLen++
		}
		fit.Cut = append(fit.Cut, what)
		cutLen += len(what)
	}
	uncut := func() {
		cutLen -= len(fit.Cut[len(fit.Cut)-1])
		fit.Cut = fit.Cut[:len(fit.Cut)-1]
		if len(fit.Cut) > 0 {
			cutLen--
		}
	}
	// unnamed counts the headers dropped past maxCutNames: one entry
	// "headers:<n>" at the end of step 2, reserved for meanwhile.
	unnamed := 0
	const unnamedEntry = len(",headers:") + 20
	// over returns by how many bytes dl exceeds lim (<= 0: it fits). Once
	// something is cut, it counts the truncation header as it stands
	// (each entry is added before what it cuts is measured, and the
	// "headers:<n>" one is reserved while counting), and no more: with
	// slack, a dead letter that fitted to the byte once cut lost its
	// other headers and payload too, or was dropped as not fitting.
	cutting := false
	over := func() int {
		h := hsize
		if cutting {
			h += len(HeaderTruncated) + lim.HeaderOverhead + cutLen
			if unnamed > 0 {
				h += unnamedEntry
			}
		}
		o := -1 << 62
		if lim.MaxHeaderBytes > 0 {
			o = max(o, h-lim.MaxHeaderBytes)
		}
		if lim.MaxBytes > 0 {
			o = max(o, h+len(dl.Payload)+len(dl.Key)-lim.MaxBytes)
		}
		return o
	}
	// dropPayload makes dl headers-only, recording what the payload was.
	dropPayload := func() {
		sum := sha256.Sum256(dl.Payload)
		set(HeaderPayloadSize, strconv.Itoa(len(dl.Payload)))
		set(HeaderPayloadSHA256, hex.EncodeToString(sum[:]))
		dl.Payload, dl.Key = nil, nil
		fit.HeadersOnly = true
		cut("payload")
	}
	// 0. A payload that cannot fit whatever else is cut goes first, so the
	// headers are kept whole.
	payloadAlone := len(dl.Payload) + len(dl.Key)
	if payloadAlone > 0 && (lim.DropPayload ||
		(lim.MaxPayloadBytes > 0 && payloadAlone > lim.MaxPayloadBytes) ||
		(lim.MaxBytes > 0 && payloadAlone >= lim.MaxBytes)) {
		dropPayload()
	}
	// names is the bytes of the header:<name> entries (commas included),
	// which stop at maxCutNames; named drops header k and lists it.
	names := 0
	named := func(k string) {
		del(k)
		if key != nil && k == lim.KeyHeader {
			cut("key")
			set(HeaderKeySize, strconv.Itoa(len(key)))
			fit.KeyDropped = true
			return
		}
		if e := len("header:") + len(k) + 1; unnamed == 0 && names+e <= maxCutNames {
			names += e
			cut("header:" + k)
		} else {
			unnamed++
		}
	}
	// 0b. Headers the broker cannot carry.
	if lim.Unsendable != nil {
		var bad []string
		for k := range dl.Headers {
			if lim.Unsendable(k) {
				bad = append(bad, k)
			}
		}
		sort.Strings(bad)
		for _, k := range bad {
			named(k)
		}
	}
	if len(fit.Cut) == 0 && unnamed == 0 && over() <= 0 {
		fit.Fits = true
		return fit
	}
	cutting = true
	// 1. The exception texts.
	for _, k := range []string{HeaderExceptionStacktrace, HeaderExceptionMessage} {
		if over() <= 0 {
			break
		}
		cut(k) // counted in over() before the cut
		v := dl.Headers[k]
		keep := max(len(v)-over()-len(cutMark), minExceptionText)
		if keep+len(cutMark) >= len(v) {
			uncut()
			continue
		}
		set(k, truncateUTF8(v, keep)+cutMark)
	}
	// 1b. Long values of the other headers kept to the end (an id or
	// content type of kilobytes, another tool's x-original-* or
	// x-exception-* headers), largest first, shortened the same way:
	// without, such a header kept the dead letter over the limit, and
	// the failed message was dropped.
	if over() > 0 {
		type hv struct {
			k string
			n int
		}
		var long []hv
		for k, v := range dl.Headers {
			if protectedHeader(k) && len(v) > minExceptionText+len(cutMark) && k != HeaderPayloadSize && k != HeaderPayloadSHA256 {
				long = append(long, hv{k, len(v)})
			}
		}
		sort.Slice(long, func(i, j int) bool {
			if long[i].n != long[j].n {
				return long[i].n > long[j].n
			}
			return long[i].k < long[j].k
		})
		for _, l := range long {
			if over() <= 0 {
				break
			}
			cut(l.k) // counted in over() before the cut
			v := dl.Headers[l.k]
			mark := cutMark
			if l.k == HeaderID {
				mark = idCutMark(v)
			}
			keep := max(len(v)-over()-len(mark), minExceptionText)
			// Not when the entry naming it costs what the cut saves
			// (another tool's header with a long name): that made the
			// dead letter bigger, and its other headers and payload went.
			if keep+len(mark)+len(l.k)+1 >= len(v) {
				uncut()
				continue
			}
			set(l.k, truncateUTF8(v, keep)+mark)
		}
	}
	// 2. Original headers, largest first.
	if over() > 0 {
		type hv struct {
			k string
			n int
		}
		var drop []hv
		for k, v := range dl.Headers {
			if !protectedHeader(k) {
				drop = append(drop, hv{k, len(k) + len(v)})
			}
		}
		sort.Slice(drop, func(i, j int) bool {
			if drop[i].n != drop[j].n {
				return drop[i].n > drop[j].n
			}
			return drop[i].k < drop[j].k
		})
		for _, d := range drop {
			if over() <= 0 {
				break
			}
			named(d.k)
		}
	}
	if unnamed > 0 {
		n := unnamed
		unnamed = 0
		cut("headers:" + strconv.Itoa(n))
	}
	// 3. The payload.
	if over() > 0 && (len(dl.Payload) > 0 || len(dl.Key) > 0) {
		dropPayload()
	}
	fit.Fits = over() <= 0
	if len(fit.Cut) > 0 {
		dl.Headers[HeaderTruncated] = strings.Join(fit.Cut, ",")
	}
	return fit
}

// idCutMark ends an id that FitDeadLetter shortened: "…[cut sha256:"
// and the first 16 hex digits of the SHA-256 of the whole id, then "]".
// Ids often differ only at their end (a common prefix, a unique
// suffix); cut to their first bytes alone, distinct ids became one, and
// a consumer of the dead letters deduplicating by id (the idempotent
// consumer's headers['id']) skipped all but the first.
func idCutMark(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "…[cut sha256:" + hex.EncodeToString(sum[:8]) + "]"
}

// protectedHeader reports whether FitDeadLetter keeps header k to the end.
func protectedHeader(k string) bool {
	return strings.HasPrefix(k, "x-exception-") || strings.HasPrefix(k, "x-original-") ||
		k == HeaderID || k == HeaderContentType || k == HeaderTruncated ||
		k == HeaderPayloadSize || k == HeaderPayloadSHA256 || k == HeaderKeySize
}

// truncateUTF8 returns at most n bytes of s, not splitting a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// DeadLetterStats counts what a consumer binding's dead-lettering could not
// do as asked; see [DeadLetterReporter].
type DeadLetterStats struct {
	// Truncated counts dead letters sent with something cut to fit the
	// broker's limits (HeadersOnly ones included).
	Truncated int64 `json:"truncated"`
	// HeadersOnly counts dead letters sent without their payload.
	HeadersOnly int64 `json:"headersOnly"`
	// Dropped counts failed messages that could not be dead-lettered at all
	// (the broker refused even a headers-only dead letter) and were
	// dropped, each with an ERROR log line.
	Dropped int64 `json:"dropped"`
}

// DeadLetterReporter is implemented by consumer bindings whose binder fits
// dead letters to broker limits.
type DeadLetterReporter interface {
	DeadLetterStats() DeadLetterStats
}
