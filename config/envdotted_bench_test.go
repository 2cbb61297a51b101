package config

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

// dottedEnv returns n variables named as keys
// (spring.cloud.stream.bindings.fN-in-0.destination=...), as a large
// docker-compose file or Kubernetes manifest sets them.
func dottedEnv(n int) []string {
	env := make([]string, 0, n)
	for i := 0; i < n; i++ {
		env = append(env, fmt.Sprintf("spring.cloud.stream.bindings.f%d-in-0.destination=t%d", i, i))
	}
	return env
}

// upperEnv returns n variables in upper case
// (SPRING_CLOUD_STREAM_BINDINGS_FN_IN_0_DESTINATION=...).
func upperEnv(n int) []string {
	env := make([]string, 0, n)
	for i := 0; i < n; i++ {
		env = append(env, fmt.Sprintf("SPRING_CLOUD_STREAM_BINDINGS_F%d_IN_0_DESTINATION=t%d", i, i))
	}
	return env
}

// BenchmarkUpperCaseEnvironmentVariables is
// BenchmarkDottedEnvironmentVariables with the variables in upper case.
func BenchmarkUpperCaseEnvironmentVariables(b *testing.B) {
	data := []byte("spring:\n  cloud:\n    stream:\n      bindings:\n        f0-in-0: { destination: orders, group: g }\n")
	for _, n := range []int{2000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			opts := Options{Data: data, Env: upperEnv(n), Logger: discard}
			for b.Loop() {
				if _, err := Load(opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDottedEnvironmentVariables loads a small file with 2,000 and
// 10,000 dotted variables: the time must grow about linearly with their
// number.
func BenchmarkDottedEnvironmentVariables(b *testing.B) {
	data := []byte("spring:\n  cloud:\n    stream:\n      bindings:\n        f0-in-0: { destination: orders, group: g }\n")
	for _, n := range []int{2000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			opts := Options{Data: data, Env: dottedEnv(n), Logger: discard}
			for b.Loop() {
				if _, err := Load(opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Each dotted variable was merged as a layer of its own, by viper (which
// reads every key of a level to find one) and with a pass over every
// origin: 10,000 variables took 33 s to load (1.5 s for 2,000); in upper
// case, each was compared with every other kept before it and their one
// layer merged by viper: 17.8 s. Now about 0.3 s each. The bound is
// generous (a slow machine, -race), far under what the quadratic work
// takes.
func TestEnvironmentVariablesLinear(t *testing.T) {
	const n = 10000
	data := []byte("spring:\n  cloud:\n    stream:\n      bindings:\n        f0-in-0: { destination: orders, group: g }\n")
	for name, env := range map[string][]string{"dotted": dottedEnv(n), "upper-case": upperEnv(n)} {
		t.Run(name, func(t *testing.T) {
			type result struct {
				l   *Loaded
				err error
			}
			done := make(chan result, 1)
			go func() {
				l, err := Load(Options{Data: data, Env: env, Logger: discard})
				done <- result{l, err}
			}()
			select {
			case r := <-done:
				if r.err != nil {
					t.Fatal(r.err)
				}
				for _, i := range []int{0, 1, n / 2, n - 1} {
					name := fmt.Sprintf("f%d-in-0", i)
					if d := r.l.Stream.Binding(name).Destination; d != "t"+strconv.Itoa(i) {
						t.Errorf("%s destination %q, want t%d", name, d, i)
					}
				}
				if g := r.l.Stream.Binding("f0-in-0").Group; g != "g" {
					t.Errorf("f0-in-0 group %q, want g (the file's)", g)
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("%d %s variables not loaded in 15 s", n, name)
			}
		})
	}
}
