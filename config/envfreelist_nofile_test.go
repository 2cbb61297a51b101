package config

import (
	"reflect"
	"strings"
	"testing"
)

// A variable ending in an index names an item of a list in a binder's
// section even when no file mentions the key: Spring Boot's
// SystemEnvironmentPropertyMapper maps a numeric element of a variable's
// name to a list index (SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_0 is
// spring.cloud.stream.kafka.binder.brokers[0]) whatever the files hold.
// It set a key brokers-0, which the Kafka binder refused (unknown key
// brokers-0), where the same variable beside a file's brokers worked
// (b09c1fd, 7aba605).
func TestEnvFreeFormListItemWithoutFile(t *testing.T) {
	data := []byte("stream:\n  bindings:\n    orders-out-0:\n      binder: kafka\n")
	binder := func(l *Loaded) map[string]any {
		s, _ := l.Raw["stream"].(map[string]any)
		k, _ := s["kafka"].(map[string]any)
		b, _ := k["binder"].(map[string]any)
		return b
	}
	for _, c := range []struct {
		env  []string
		want []any
	}{
		{[]string{"STREAM_KAFKA_BINDER_BROKERS_0=host:9092"}, []any{"host:9092"}},
		{[]string{"SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_0=host:9092"}, []any{"host:9092"}},
		{[]string{"SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_0=h0:9092", "SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS_1=h1:9092"}, []any{"h0:9092", "h1:9092"}},
		{[]string{"STREAM_KAFKA_BINDER_BROKERS_1=h1", "STREAM_KAFKA_BINDER_BROKERS_0_=h0"}, []any{"h0", "h1"}},
	} {
		l := mustLoad(t, Options{Data: data, Logger: discard, Env: c.env})
		b := binder(l)
		if !reflect.DeepEqual(b["brokers"], c.want) || len(b) != 1 {
			t.Errorf("%v: binder %v, want brokers %v alone", c.env, b, c.want)
		}
		if o := l.Stream.Origins["stream.kafka.binder.brokers[0]"]; !strings.HasPrefix(o, "env ") {
			t.Errorf("%v: origin of brokers[0] %q", c.env, o)
		}
	}

	// An item's keys: HEADERS_0_NAME is headers[0].name.
	l := mustLoad(t, Options{Data: data, Logger: discard, Env: []string{"STREAM_KAFKA_BINDER_SOME_LIST_0_NAME=a", "STREAM_KAFKA_BINDER_SOME_LIST_1_NAME=b"}})
	if got, want := binder(l)["some-list"], []any{map[string]any{"name": "a"}, map[string]any{"name": "b"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("some-list = %v, want %v", got, want)
	}

	// A gap is refused, as Spring Boot refuses a list whose indexes are
	// not contiguous (its IndexedElementsBinder: UnboundConfigurationPropertiesException).
	for _, prefix := range []string{"STREAM_", "SPRING_CLOUD_STREAM_"} {
		es := configErrors(t, Options{Data: data, Env: []string{prefix + "KAFKA_BINDER_BROKERS_0=h0", prefix + "KAFKA_BINDER_BROKERS_2=h2"}})
		if len(es) != 1 || es[0].Path != "stream.kafka.binder.brokers" || es[0].Origin != "env "+prefix+"KAFKA_BINDER_BROKERS_2" ||
			!strings.Contains(es[0].Msg, "sets item 2, but no variable sets item 1") || !strings.Contains(es[0].Msg, "set by "+prefix+"KAFKA_BINDER_BROKERS_0, "+prefix+"KAFKA_BINDER_BROKERS_2") {
			t.Errorf("%s gap: %v", prefix, es)
		}
	}
}
