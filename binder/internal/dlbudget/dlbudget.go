// Package dlbudget sizes what a dead-letter cursor reads from its broker
// at once by bytes, not only by count: a dead letter can weigh megabytes
// (up to 16 MiB on Redis, 16 MB or 128 MB on RabbitMQ), so a read of a
// fixed 256 of them asked for gigabytes (a RabbitMQ window held 2.8 GB; a
// Redis XRANGE of 575 MB timed out and stalled the server). A cursor
// reads its first dead letter alone, then as many as fit in its byte
// budget when each weighs as much as the largest it has seen (Count);
// a batch it returns stops at the budget, but holds at least one dead
// letter. The RabbitMQ cursor sizes its consumer's prefetch window so,
// the Redis cursor its XRANGE pages.
package dlbudget

// Bytes is the default byte budget of a cursor's read and of a batch.
const Bytes = 64 << 20

// Count is how many dead letters a cursor reads at once: as many as fit
// in budget bytes when each weighs largest (the largest the cursor has
// seen), from 1 to most; 1 before it has seen any (largest 0). A budget
// of 0 or less is Bytes.
func Count(budget, largest, most int) int {
	if largest <= 0 {
		return 1
	}
	if budget <= 0 {
		budget = Bytes
	}
	return max(1, min(most, budget/largest))
}
