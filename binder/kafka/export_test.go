package kafka

import (
	"time"

	"github.com/streambind/streambind/stream"
)

// SetPartitionWatchInterval sets how often b's consumers look for new
// partitions (5s otherwise), so that tests of new partitions stay fast.
// Call it before the first binding.
func SetPartitionWatchInterval(b stream.Binder, d time.Duration) {
	b.(*Binder).st.partitionWatch = d
}

// SetKeyStallWarnAfter sets how long a partition's intake under
// ordering: key waits for room before it warns (keyStallWarnAfter, 30s,
// otherwise). Call it before the first binding.
func SetKeyStallWarnAfter(b stream.Binder, d time.Duration) {
	b.(*Binder).st.keyStall = d
}

// CancelHandlersEarly cancels the handlers' context of cons's running
// run, as a cancel shortly before a Stop's deadline does on the binders
// that implement lifecycle.HandlerCanceler, and nothing else: the run's
// settling context (dead letters, retry copies, pipelined results) goes on.
func CancelHandlersEarly(cons stream.Consumer) {
	cons.(*consumer).workers.Range(func(w, _ any) bool {
		w.(*partWorker).r.hcancel()
		return true
	})
}
