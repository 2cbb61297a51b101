package bindertest

import "testing"

// Paired runs a benchmark that compares stacks (a binder, the App over it,
// its raw client) in one run: b.N messages split into rounds, each stack
// handling its share of every round in turn, the order reversed every other
// round, so that a machine load that swings within seconds weighs on every
// stack alike. round(i, n) runs stack i on n messages. The benchmark timer
// runs only inside Paired.
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
		for k := range stacks {
			i := k
			if r%2 == 1 {
				i = stacks - 1 - k
			}
			round(i, n)
		}
	}
	b.StopTimer()
}
