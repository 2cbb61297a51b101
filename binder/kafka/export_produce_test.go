package kafka

import "github.com/streambind/streambind/stream"

// OnQueued makes p call f after each send was queued. Call it before the
// first send.
func OnQueued(p stream.Producer, f func()) {
	p.(*producer).onQueued = f
}
