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
