package config

import (
	"testing"
)

// A variable that sets a list's item replaces the files' list whole, and
// its items' origins are its own: Origins holds "myapp.list[0]" as set by
// the variable on every load. The layer's origins were applied in map
// order, dropping the list's items after each key: "myapp.list" coming
// after "myapp.list[0]" dropped the origin just set (half the loads).
func TestEnvListItemOriginsKept(t *testing.T) {
	data := []byte("myapp:\n  list: [a, b, c]\nstream:\n  kafka:\n    binder:\n      brokers: [k1, k2]\n")
	cases := []struct {
		env        string
		item, from string
	}{
		{"myapp.list[0]=x", "myapp.list[0]", "env myapp.list[0]"},
		{"spring.cloud.stream.kafka.binder.brokers[0]=x", "stream.kafka.binder.brokers[0]", "env spring.cloud.stream.kafka.binder.brokers[0]"},
		{`SPRING_APPLICATION_JSON={"myapp":{"list":["j"]}}`, "myapp.list[0]", "env " + EnvApplicationJSON},
	}
	for _, c := range cases {
		for i := range 40 {
			l := mustLoad(t, Options{Data: data, Logger: discard, Env: []string{c.env}})
			if o := l.Stream.Origins[c.item]; o != c.from {
				t.Fatalf("%s, load %d: Origins[%s] = %q, want %q", c.env, i, c.item, o, c.from)
			}
			if o, ok := l.Stream.Origins[c.item[:len(c.item)-3]+"[1]"]; ok {
				t.Fatalf("%s, load %d: the files' item 1 kept its origin %q though the list was replaced", c.env, i, o)
			}
		}
	}
}

// The maps that upper-case variables create or enter take the origin of
// the first of them by key path, the same on every load (it was
// whichever the map order gave).
func TestEnvContainerOriginsStable(t *testing.T) {
	env := []string{"STREAM_KAFKA_BINDER_BROKERS_0=a", "STREAM_KAFKA_BINDER_BROKERS_1=b", "STREAM_BINDINGS_IN0_GROUP=g", "STREAM_BINDINGS_IN0_DESTINATION=d"}
	want := map[string]string{
		"stream.kafka":        "env STREAM_KAFKA_BINDER_BROKERS_0",
		"stream.kafka.binder": "env STREAM_KAFKA_BINDER_BROKERS_0",
		"stream.bindings.in0": "env STREAM_BINDINGS_IN0_DESTINATION",
	}
	for i := range 40 {
		l := mustLoad(t, Options{Data: []byte("stream:\n  bindings:\n    x-in-0:\n      destination: x\n"), Logger: discard, Env: env})
		for k, w := range want {
			if o := l.Stream.Origins[k]; o != w {
				t.Fatalf("load %d: Origins[%s] = %q, want %q", i, k, o, w)
			}
		}
	}
}

// The problems of lists that variables number with a gap are reported in
// the same order on every load (finishLists went through a map's keys in
// map order).
func TestEnvListGapErrorsStable(t *testing.T) {
	env := []string{"STREAM_BINDINGS_A_PRODUCER_REQUIREDGROUPS_1=x", "STREAM_BINDINGS_B_PRODUCER_REQUIREDGROUPS_2=y",
		"STREAM_BINDINGS_C_PRODUCER_REQUIREDGROUPS_1=z", "STREAM_KAFKA_BINDER_BROKERS_1=k"}
	first := ""
	for i := range 40 {
		_, err := Load(Options{Data: []byte("x: 1\n"), Logger: discard, Env: env})
		if err == nil {
			t.Fatal("no error")
		}
		if i == 0 {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("load %d:\n%s\nload 0:\n%s", i, err, first)
		}
	}
}
