package dlbudget

import "testing"

func TestCount(t *testing.T) {
	for _, tc := range []struct{ budget, largest, most, want int }{
		{1 << 20, 0, 256, 1},           // none seen yet: the first alone
		{1 << 20, 64 << 10, 256, 16},   // as many as fit
		{1 << 20, 1 << 10, 256, 256},   // no more than most
		{1 << 20, 3 << 20, 256, 1},     // one larger than the budget: 1
		{0, 8 << 20, 256, 8},           // the default budget, 64 MB
		{-1, 1, 256, 256},              // likewise
		{1 << 20, 1<<20 + 1, 256, 1},   // just over
		{1 << 20, (1 << 20) / 3, 2, 2}, // most of 2
	} {
		if got := Count(tc.budget, tc.largest, tc.most); got != tc.want {
			t.Errorf("Count(%d, %d, %d) = %d, want %d", tc.budget, tc.largest, tc.most, got, tc.want)
		}
	}
}
