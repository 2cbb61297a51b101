package bindertest

import "testing"

// Paired runs a benchmark that compares stacks (a binder, the App over it,
// its raw client) in one run: b.N messages split into rounds, each stack
// handling its share of every round in turn, so that a machine load that
// swings within seconds weighs on every stack alike. The order of a round
// is a row of a Williams Latin square (Order): over each design, the
// len(stacks) rounds from round 0 (2×len(stacks) for an odd count), each
// stack takes each place and follows each other stack equally often, and
// none runs twice in a row. Two stacks run 0 1 every round: each always
// follows the other, and stack 1 always takes the second place. A stack's round can leave work behind for the next one (a broker
// still writing what it confirmed): with a fixed order, or one reversed
// every other round, of six RabbitMQ publishing stacks whichever binder
// stack was sixth was the fastest in 12 of 12 runs, whatever its settings
// (docs/benchmarks.md). round(i, n) runs stack i on n messages. The
// benchmark timer runs only inside Paired.
func Paired(b *testing.B, rounds, stacks int, round func(i, n int)) {
	b.Helper()
	b.ResetTimer()
	for r := range rounds {
		n := b.N / rounds
		if r == rounds-1 {
			n = b.N - n*(rounds-1)
		}
		if n == 0 {
			continue
		}
		for _, i := range Order(r, stacks) {
			round(i, n)
		}
	}
	b.StopTimer()
}

// Order is the order of the stacks 0..n-1 in round r of Paired: a row of a
// Williams design, 0 1 n-1 2 n-2 ... shifted by r (mod n); when n is odd,
// every other block of n rounds has the rows reversed, taken with shifts
// n-2, n-3, ... so that no stack runs twice in a row across rounds. Two
// stacks go 0 1 every round (each follows the other).
func Order(r, n int) []int {
	out := make([]int, n)
	if n <= 2 {
		for i := range out {
			out[i] = i
		}
		return out
	}
	lo, hi := 1, n-1
	for k := range out {
		var b int
		switch {
		case k == 0:
			b = 0
		case k%2 == 1:
			b, lo = lo, lo+1
		default:
			b, hi = hi, hi-1
		}
		out[k] = b
	}
	shift := r % n
	rev := n%2 == 1 && (r/n)%2 == 1
	if rev {
		shift = ((n-2-shift)%n + n) % n
	}
	for k := range out {
		out[k] = (out[k] + shift) % n
	}
	if rev {
		for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}
