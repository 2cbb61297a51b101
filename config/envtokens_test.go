package config

import (
	"fmt"
	"strings"
	"testing"
)

// envTokens built a strings.Replacer on every call, and it is called for
// every name the configuration declares, for every variable: with 5000
// bindings, 250 STREAM_BINDINGS_* variables took 17 s to load (3 s
// without). The allocations of one call say whether it builds one.
func TestEnvTokensBuildsNoReplacerPerCall(t *testing.T) {
	if got := envTokens("stream.bindings.a|b-in-0.max-attempts"); strings.Join(got, " ") != "STREAM BINDINGS AB IN 0 MAX ATTEMPTS" {
		t.Fatalf("tokens %q", got)
	}
	allocs := testing.AllocsPerRun(100, func() { _ = envTokens("chargePayment-in-0") })
	if allocs > 3 {
		t.Errorf("envTokens: %v allocations a call; want at most 3 (upper-case, replace, split)", allocs)
	}
}

func BenchmarkEnvOverridesLargeConfiguration(b *testing.B) {
	var y strings.Builder
	y.WriteString("stream:\n  bindings:\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&y, "    f%d-in-0: {group: g, consumer: {max-attempts: 2}}\n", i)
	}
	var env []string
	for i := 0; i < 50; i++ {
		env = append(env, fmt.Sprintf("STREAM_BINDINGS_F%d_IN_0_CONSUMER_MAX_ATTEMPTS=3", i))
	}
	opts := Options{Data: []byte(y.String()), Env: env}
	for b.Loop() {
		if _, err := Load(opts); err != nil {
			b.Fatal(err)
		}
	}
}
