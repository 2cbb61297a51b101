package config

import (
	"fmt"
	"strconv"
	"testing"
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

// Many environment variables load with the values they set and the
// file's beside them. The speed (each dotted variable was a layer of its
// own merged by viper, 33 s for 10,000; upper-case ones compared
// pairwise, 17.8 s) is checked by the benchmarks above, not by a timed
// assertion here.
func TestManyEnvironmentVariables(t *testing.T) {
	const n = 2000
	data := []byte("spring:\n  cloud:\n    stream:\n      bindings:\n        f0-in-0: { destination: orders, group: g }\n")
	for name, env := range map[string][]string{"dotted": dottedEnv(n), "upper-case": upperEnv(n)} {
		t.Run(name, func(t *testing.T) {
			l, err := Load(Options{Data: data, Env: env, Logger: discard})
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range []int{0, 1, n / 2, n - 1} {
				name := fmt.Sprintf("f%d-in-0", i)
				if d := l.Stream.Binding(name).Destination; d != "t"+strconv.Itoa(i) {
					t.Errorf("%s destination %q, want t%d", name, d, i)
				}
			}
			if g := l.Stream.Binding("f0-in-0").Group; g != "g" {
				t.Errorf("f0-in-0 group %q, want g (the file's)", g)
			}
		})
	}
}
