package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRandomChainBudget: a random value is drawn anew at each reference,
// so a chain k0: ${random.int(10)}, kN: ${kN-1}${kN-1} resolves k0 2^N
// times: n=17 stalled a Load for 21 s before the value cap failed. The
// substitutions of one Load are bounded: the chain fails fast, the error
// naming the key and its file:line.
func TestRandomChainBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("k0: ${random.int(10)}\n")
	const n = 20
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "k%d: ${k%d}${k%d}\n", i, i-1, i-1)
	}
	start := time.Now()
	_, err := Load(Options{Data: []byte(b.String())})
	took := time.Since(start)
	if err == nil {
		t.Fatal("Load of the chain: no error, want the substitution budget's")
	}
	// About 0.4 s (1.2 s with -race); without the budget, minutes.
	if took > 3*time.Second {
		t.Errorf("Load of the chain took %v, want under 3 s", took)
	}
	if !strings.Contains(err.Error(), "exceeds") || !strings.Contains(err.Error(), "substitutions") || !strings.Contains(err.Error(), "a chain of references?") {
		t.Errorf("error %q does not say the substitutions were too many", err)
	}
	t.Logf("%v (%v)", err, took)
}
