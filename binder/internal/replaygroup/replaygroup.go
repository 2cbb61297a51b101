// Package replaygroup is the consumer side of a replay confined to one
// consumer group: a replayed copy that carries [stream.HeaderReplayGroup]
// (streambind dlq replay sets it on NATS and Redis, where every group of
// a destination reads each message) is handled by that group only; a
// consumer of any other group, or an anonymous one, acknowledges it
// without calling its handler. The binders call [Drop] on what they are
// about to hand to the handler, before the call.
package replaygroup

import "github.com/streambind/streambind/stream"

// ForOther reports whether env is a replayed copy addressed to another
// consumer group than group ("" for an anonymous consumer, which is never
// the one addressed).
func ForOther(env *stream.Envelope, group string) bool {
	g := env.Header(stream.HeaderReplayGroup)
	return g != "" && g != group
}

// Drop returns the items of xs that are not replayed copies for another
// group than group (ForOther of the envelope env gives for each), in
// order, and calls skip for each of the others, in order, which the
// caller acknowledges (and lets go of) without handling. xs itself is
// returned when there is none to skip (the usual case: no allocation),
// else a new slice; xs is never modified.
func Drop[T any](xs []T, group string, env func(T) *stream.Envelope, skip func(T)) []T {
	var kept []T
	n := 0
	for i, x := range xs {
		if !ForOther(env(x), group) {
			if n > 0 {
				kept = append(kept, x)
			}
			continue
		}
		if n == 0 {
			kept = append(make([]T, 0, len(xs)-1), xs[:i]...)
		}
		n++
		skip(x)
	}
	if n == 0 {
		return xs
	}
	return kept
}
