package bindertest

import "testing"

// TestOrderBalanced: over whole designs every stack takes every place
// equally often and, within rounds, follows every other stack equally
// often, and no stack runs twice in a row, across rounds too.
func TestOrderBalanced(t *testing.T) {
	for n := 2; n <= 7; n++ {
		rounds := 2 * n // two designs' worth: block boundaries too
		if n%2 == 1 {
			rounds = 4 * n
		}
		place := map[[2]int]int{}
		follows := map[[2]int]int{}
		prev := -1
		for r := range rounds {
			row := Order(r, n)
			seen := map[int]bool{}
			for k, i := range row {
				if seen[i] {
					t.Fatalf("n %d round %d: %v repeats %d", n, r, row, i)
				}
				seen[i] = true
				place[[2]int{i, k}]++
				if prev == i {
					t.Fatalf("n %d round %d: stack %d runs twice in a row", n, r, i)
				}
				if k > 0 {
					follows[[2]int{row[k-1], i}]++
				}
				prev = i
			}
		}
		if n == 2 {
			continue // 0 1 0 1 ...: each follows the other
		}
		for i := range n {
			for k := range n {
				if place[[2]int{i, k}] != rounds/n {
					t.Errorf("n %d: stack %d at place %d %d times, want %d", n, i, k, place[[2]int{i, k}], rounds/n)
				}
			}
		}
		// Within rounds each ordered pair occurs equally often (Williams).
		want := rounds * (n - 1) / (n * (n - 1))
		for a := range n {
			for b := range n {
				if a != b && follows[[2]int{a, b}] != want {
					t.Errorf("n %d: %d follows %d %d times", n, b, a, follows[[2]int{a, b}])
				}
			}
		}
	}
}
