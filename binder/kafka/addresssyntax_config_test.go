package kafka

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestMalformedBrokersConfig: a broker address whose host or port the
// dial cannot use is a configuration error at its key, and an empty one
// says it is empty. [h:9092]:99 (a bracketed host that is no IPv6
// address) was accepted and retried as an outage; an empty brokers read
// "no broker address".
func TestMalformedBrokersConfig(t *testing.T) {
	for _, tc := range []struct {
		key   string
		value any
		want  string
	}{
		{"brokers", "[h:9092]:99", "host holds a colon"},
		{"brokers", "SASL_SSL://[127.0.0.1:9092]:99", "host holds a colon"},
		{"brokers", "h:9092:99", "want host:port"},
		{"brokers", "h:0", "not a number in 1..65535"},
		{"brokers", "", "is empty"},
		{"brokers", " , ", "is empty"},
		{"configuration", map[string]any{"bootstrap.servers": ","}, "is empty"},
		{"configuration", map[string]any{"bootstrap.servers": "[h:9092]:99"}, "host holds a colon"},
	} {
		_, err := parseSettings(stream.BinderSettings{Name: "kafka", Type: Type, Binder: map[string]any{tc.key: tc.value}})
		at := "stream.kafka.binder." + tc.key
		if err == nil || !strings.Contains(err.Error(), at) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v\nwant an error at the key saying %q", at, tc.value, err, tc.want)
		}
	}
	for _, v := range []string{"[::1]:9092", "::1", "h", "[fe80::1%eth0]:9092"} {
		if _, err := parseSettings(stream.BinderSettings{Name: "kafka", Type: Type, Binder: map[string]any{"brokers": v}}); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
}
