package stream

import (
	"strings"
	"testing"
)

// inherited matches names case-insensitively, with Unicode's rules, and
// without allocating for the names messages carry.
func TestInheritedIgnoresCase(t *testing.T) {
	for name, want := range map[string]bool{
		"contentType":            false,
		"ContentType":            false,
		"ID":                     false,
		"traceParent":            false,
		"X-Exception-Message":    false,
		"KAFKA_receivedTopic":    false,
		"Nats-Msg-Id":            false,
		"\u212Aafka_offset":      false, // Kelvin sign: lowers to "kafka_offset"
		"key":                    true,
		"Tenant":                 true,
		"x-exceptional":          true,
		"kafka":                  true,
		strings.Repeat("a", 100): true,
		"x-exception-" + strings.Repeat("A", 100): false,
	} {
		if got := inherited(name); got != want {
			t.Errorf("inherited(%q) = %v, want %v", name, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { inherited("contentType"); inherited("X-Original-Topic") }); n != 0 {
		t.Errorf("inherited allocates %v times, want 0", n)
	}
}
