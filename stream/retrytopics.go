package stream

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Non-blocking retries (consumer.retry-delays, docs/retries.md).
//
// With retry-delays set, a failed delivery is not retried in the handler's
// goroutine. The core returns a [*DelayedRetry] to the binder instead of a
// Term; the binder parks the message in the broker for the delay (a
// RabbitMQ wait queue with a message TTL, the in-process binder's
// scheduler), acknowledges the original, and the parked copy comes back to
// the consumer's group when the delay is over. Meanwhile the partition or
// queue keeps flowing. After the last delay the next failure is dead-
// lettered as it is without retry-delays.

// Headers of a message redelivered after a delay. The values are decimal
// text (Spring Kafka's retry_topic-* headers carry binary Java values, which
// the string headers of this framework cannot carry faithfully; a service
// on another framework does not read a group's private retry queues).
const (
	// HeaderRetryAttempts is the number of deliveries of the message that
	// failed so far (1 on the first redelivery). A dead letter of a message
	// that went through every delay carries it too: 1 + len(retry-delays)
	// attempts were made.
	HeaderRetryAttempts = "x-streambind-retry-attempts"
	// HeaderRetryFirstFailure is when the first delivery failed, in Unix
	// milliseconds.
	HeaderRetryFirstFailure = "x-streambind-retry-first-failure"
	// HeaderRetryDue is when the parked message is due back, in Unix
	// milliseconds (the Kafka binder holds a retry topic's partition until
	// then; other binders write it for the record).
	HeaderRetryDue = "x-streambind-retry-due"
)

// DelayedRetry is what the core returns to a binder, instead of a Term, for
// a failed message that is to be redelivered after Delay: the binder stores
// a copy of the message with Headers (the original headers plus the
// retry-attempt and x-exception-* headers) where it comes back to the
// consumer's group after Delay, then acknowledges the delivery. If it
// cannot park the copy for now, it must not acknowledge the delivery (treat
// it as a Nak), so nothing is lost; if the broker refuses the copy for good
// (its size), it treats Err as a Term (dead-letters or drops the message),
// so that the message does not loop. The exception headers of the copy are
// bounded (2 KiB stack trace, 1 KiB message).
//
// Binders support it by implementing [DelayedRetrier]; the core sets no
// retry-delays on bindings of other binders (start-up fails, naming the
// key).
type DelayedRetry struct {
	// Err is the handler's error.
	Err error
	// Level is the 0-based index of Delay in retry-delays.
	Level int
	Delay time.Duration
	// Headers replace the message's headers on the parked copy. The binder
	// owns them.
	Headers Headers
}

func (e *DelayedRetry) Error() string {
	return fmt.Sprintf("retry %d after %s: %v", e.Level+1, e.Delay, e.Err)
}

func (e *DelayedRetry) Unwrap() error { return e.Err }

// AsDelayedRetry returns the DelayedRetry that err is or wraps, or nil.
func AsDelayedRetry(err error) *DelayedRetry {
	if err == nil {
		return nil // binders call it for every message; errors.As allocates
	}
	var dr *DelayedRetry
	if errors.As(err, &dr) {
		return dr
	}
	return nil
}

// DelayedRetrier is implemented by binders that carry out [DelayedRetry]
// (consumer.retry-delays). DelayedRetries returns nil when the binder can
// delay the given consumer's retries, else why not.
type DelayedRetrier interface {
	DelayedRetries(spec ConsumerSpec) error
}

// MaxRetryDelay bounds each of consumer.retry-delays: RabbitMQ's
// x-message-ttl is a 32-bit count of milliseconds.
const MaxRetryDelay = (1<<31 - 1) * time.Millisecond

// Attempts are counted per arrival on the consumer's destination: the retry
// headers a message carries are honoured only on a delivery that comes back
// from the consumer's own retry path (its Kafka retry topic, RabbitMQ wait
// queue, the in-process scheduler), which the binder marks with
// [MarkRetryDelivery]. A dead letter replayed to the destination, or a
// message another service forwarded with its headers, arrives unmarked and
// gets every retry again.

// headerRetryMark is the header by which a binder marks a delivery from its
// retry path. The core removes it before the handler, the dead letter or a
// parked copy sees the headers, so it never reaches a broker; its value is
// random per process, so that a producer that sets it is not believed.
const headerRetryMark = "x-streambind-retry-delivery"

// retryMarkValue is headerRetryMark's value in this process (set once).
var retryMarkValue = rand.Text()

// MarkRetryDelivery marks h, the headers of a delivery that comes back from
// the consumer's own retry path (see [DelayedRetry]), so that the core
// counts the attempts its retry headers record. A binder calls it on the
// delivery's headers before the handler; h nil is left alone (it records no
// attempts either).
func MarkRetryDelivery(h Headers) {
	if h != nil {
		h[headerRetryMark] = retryMarkValue
	}
}

// takeRetryMark reports whether env is marked by [MarkRetryDelivery] and
// returns it without the mark and, when it is not marked, without retry
// headers it brought along (they are another arrival's). The binder's
// headers map is not changed: it may hand the same delivery again.
func takeRetryMark(env Envelope) (Envelope, bool) {
	mark, marked := env.Headers[headerRetryMark]
	if !marked && !hasRetryHeaders(env.Headers) {
		return env, false // the usual case: no copy
	}
	h := make(Headers, len(env.Headers))
	for k, v := range env.Headers {
		h[k] = v
	}
	delete(h, headerRetryMark)
	retry := marked && mark == retryMarkValue
	if !retry {
		delete(h, HeaderRetryAttempts)
		delete(h, HeaderRetryFirstFailure)
		delete(h, HeaderRetryDue)
	}
	env.Headers = h
	return env, retry
}

// hasRetryHeaders reports whether h carries any of the retry headers.
func hasRetryHeaders(h Headers) bool {
	for _, k := range [...]string{HeaderRetryAttempts, HeaderRetryFirstFailure, HeaderRetryDue} {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// RetryAttempts returns the failed deliveries h records
// (HeaderRetryAttempts), 0 when none or unreadable.
func RetryAttempts(h Headers) int {
	n, err := strconv.Atoi(h[HeaderRetryAttempts])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// delayedRetry decides what happens to env after its delivery failed with
// err (retryable, in-process attempts done): a *DelayedRetry for the next
// delay, or nil when every delay was used (dead-letter it). attempts is
// the total number of failed deliveries, this one included.
func delayedRetry(delays []time.Duration, env Envelope, err error, now time.Time) (dr *DelayedRetry, attempts int) {
	prev := RetryAttempts(env.Headers)
	attempts = prev + 1
	if prev >= len(delays) {
		return nil, attempts
	}
	d := delays[prev]
	h := DeadLetterHeaders(env.Headers, err)
	// The parked copy must fit where the original did: the exception texts
	// (informational here; the dead letter gets them whole) are bounded.
	for k, n := range map[string]int{HeaderExceptionStacktrace: maxRetryStacktrace, HeaderExceptionMessage: maxRetryMessage} {
		if v := h[k]; len(v) > n {
			h[k] = truncateUTF8(v, n) + cutMark
		}
	}
	h[HeaderRetryAttempts] = strconv.Itoa(attempts)
	if _, ok := h[HeaderRetryFirstFailure]; !ok || prev == 0 {
		h[HeaderRetryFirstFailure] = strconv.FormatInt(now.UnixMilli(), 10)
	}
	// Rounded up: a message is never due before the full delay.
	h[HeaderRetryDue] = strconv.FormatInt((now.Add(d).UnixNano()+int64(time.Millisecond)-1)/int64(time.Millisecond), 10)
	return &DelayedRetry{Err: err, Level: prev, Delay: d, Headers: h}, attempts
}

// The longest x-exception-stacktrace and x-exception-message of a parked
// copy (before the "…[cut]" mark).
const (
	maxRetryStacktrace = 2048
	maxRetryMessage    = 1024
)

// validateRetryDelays checks consumer.retry-delays.
func validateRetryDelays(c ConsumerConfig, bad func(key, msg string, args ...any)) {
	if len(c.RetryDelays) == 0 {
		return
	}
	for i, d := range c.RetryDelays {
		if d <= 0 || d > MaxRetryDelay {
			bad(fmt.Sprintf("consumer.retry-delays[%d]", i), "must be between 1ms and %s, got %s", MaxRetryDelay, d)
		} else if d%time.Millisecond != 0 {
			bad(fmt.Sprintf("consumer.retry-delays[%d]", i), "must be whole milliseconds, got %s", d)
		}
	}
	if c.BatchMode {
		bad("consumer.retry-delays", "cannot be used with batch-mode (a batch retries in process, with max-attempts: the whole batch, or from the message stream.BatchFailedAt names)")
	}
}

// delayRetry is withRetries' hook for consumer.retry-delays: for a
// retryable failure with a delay left it counts and logs the retry and
// returns the DelayedRetry for the binder; otherwise nil (dead-letter or
// drop as usual). attempts is the number of failed deliveries so far.
func (rt *runtimeBinding) delayRetry(env Envelope, err error) (dr *DelayedRetry, attempts int) {
	if IsPermanent(err) || !rt.isRetryable(err) {
		return nil, RetryAttempts(env.Headers) + 1
	}
	dr, attempts = delayedRetry(rt.retry.delays, env, err, time.Now())
	if dr == nil {
		return nil, attempts
	}
	rt.in.stats.retried.Add(1)
	rt.in.stats.delayed.add(dr.Level)
	rt.log.Debug("handler failed, redelivering after a delay", "attempt", attempts, "delay", dr.Delay, "error", boundedErr(err))
	return dr, attempts
}

// levelCounts counts delayed retries per retry-delays level.
type levelCounts struct {
	mu sync.Mutex
	n  []int64
}

func (c *levelCounts) add(level int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if level >= len(c.n) {
		c.n = append(c.n, make([]int64, level+1-len(c.n))...)
	}
	c.n[level]++
}

func (c *levelCounts) snapshot() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.n) == 0 {
		return nil
	}
	return append([]int64(nil), c.n...)
}

// checkDelayedRetries checks that the binder of input binding b can carry
// out its consumer.retry-delays.
func (a *App) checkDelayedRetries(v *validator, path string, bi *binderInstance, b *Binding) {
	key := path + ".consumer.retry-delays"
	dr, ok := bi.binder.(DelayedRetrier)
	if !ok {
		v.add(key, "binder %q (type %s) does not support non-blocking retries; remove the key to retry in process with max-attempts", bi.name, bi.typ)
		return
	}
	cons, _ := a.cfg.Extension(bi.typ, b.name)
	for _, d := range Destinations(b.cfg.Destination) {
		if err := dr.DelayedRetries(b.consumerSpec(d, cons, nil)); err != nil {
			v.add(key, "%v", err)
			return
		}
	}
}

// retriesExhausted is the error the core returns for a message whose
// delivery after the last of retry-delays failed too. It reads as the
// handler's error; [DeadLetterHeaders] unwraps it and records the total
// number of attempts in HeaderRetryAttempts.
type retriesExhausted struct {
	err      error
	attempts int
	// first is when the first delivery failed, set when that was this
	// one (a retry header the message brought is another arrival's).
	first time.Time
}

func (e *retriesExhausted) Error() string { return e.err.Error() }
func (e *retriesExhausted) Unwrap() error { return e.err }
