package config

import (
	"reflect"
	"testing"
)

// In a free-form section (a binder's settings: stream.kafka.binder.*), a
// variable ending in an index names an item of the list the files hold
// at that key, as Spring Boot reads SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_0
// (spring.cloud.stream.kafka.binder.brokers[0]); the variables replace the
// list whole. It set a key brokers-0 beside the files' list, which stayed:
// the override was silently lost.
func TestEnvFreeFormListItem(t *testing.T) {
	data := []byte("stream:\n  kafka:\n    binder:\n      brokers: [a, b, c]\n")
	for _, c := range []struct {
		env  []string
		want []any
	}{
		{[]string{"STREAM_KAFKA_BINDER_BROKERS_0=x"}, []any{"x"}},
		{[]string{"SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_0=x", "SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_1=y"}, []any{"x", "y"}},
	} {
		l := mustLoad(t, Options{Data: data, Logger: discard, Env: c.env})
		b := l.Raw["stream"].(map[string]any)["kafka"].(map[string]any)["binder"].(map[string]any)
		if !reflect.DeepEqual(b["brokers"], c.want) || len(b) != 1 {
			t.Errorf("%v: binder %v, want brokers %v alone", c.env, b, c.want)
		}
		if o := l.Stream.Origins["stream.kafka.binder.brokers[0]"]; o != "env "+c.env[0][:len(c.env[0])-2] {
			t.Errorf("%v: origin of brokers[0] %q", c.env, o)
		}
	}
}

// The same over a list the files write as one comma-separated value
// (brokers: a:9092,b:9092, as SCSt's samples do): Spring Boot binds the
// environment's indexed items first, so brokers is [x]. It set a key
// brokers-0 beside the files' value, which the binder refused as an
// unknown key (did you mean brokers?), where the list's YAML form worked.
func TestEnvFreeFormListItemOverCommaList(t *testing.T) {
	data := []byte("stream:\n  kafka:\n    binder:\n      brokers: a:9092,b:9092\n")
	l := mustLoad(t, Options{Data: data, Logger: discard, Env: []string{"SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_0=x"}})
	b := l.Raw["stream"].(map[string]any)["kafka"].(map[string]any)["binder"].(map[string]any)
	if !reflect.DeepEqual(b["brokers"], []any{"x"}) || len(b) != 1 {
		t.Errorf("binder %v, want brokers [x] alone", b)
	}
	if o := l.Stream.Origins["stream.kafka.binder.brokers[0]"]; o != "env SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_0" {
		t.Errorf("origin of brokers[0] %q", o)
	}
}
