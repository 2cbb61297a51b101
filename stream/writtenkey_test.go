package stream_test

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

// Config.WrittenKey gives a problem's key as the file wrote it where the
// problem's origin says: the key itself, the nearest key above it with
// the rest of the path, or the stream.default key a binding inherits;
// nothing when the origin is another (a variable over the file) or the
// spelling is path's own.
func TestConfigWrittenKey(t *testing.T) {
	c := &stream.Config{
		Origins: map[string]string{
			"stream.bindings.processorder-in-0":                       "application.yaml:7",
			"stream.bindings.processorder-in-0.consumer":              "application.yaml:10",
			"stream.bindings.processorder-in-0.consumer.max-attempts": "application.yaml:11",
			"stream.bindings.processorder-in-0.group":                 "env STREAM_BINDINGS_PROCESSORDER_IN_0_GROUP",
			"stream.default.consumer.back-off-multiplier":             "application.properties:4",
			"stream.default.consumer.concurrency":                     "application.properties:5",
		},
		Keys: map[string]string{
			"stream.bindings.processorder-in-0":                       "spring.cloud.stream.bindings.processOrder-in-0",
			"stream.bindings.processorder-in-0.consumer":              "spring.cloud.stream.bindings.processOrder-in-0.consumer",
			"stream.bindings.processorder-in-0.consumer.max-attempts": "spring.cloud.stream.bindings.processOrder-in-0.consumer.maxAttempts",
			"stream.default.consumer.back-off-multiplier":             "spring.cloud.stream.default.consumer.back_off_multiplier",
		},
	}
	for _, tc := range []struct{ path, origin, want string }{
		{"stream.bindings.processOrder-in-0.consumer.max-attempts", "application.yaml:11", "spring.cloud.stream.bindings.processOrder-in-0.consumer.maxAttempts"},
		// Not set itself: the key above it, as written, and the rest.
		{"stream.bindings.processOrder-in-0.consumer.dlq", "application.yaml:10", "spring.cloud.stream.bindings.processOrder-in-0.consumer.dlq"},
		{"stream.bindings.processOrder-in-0.destination", "application.yaml:7", "spring.cloud.stream.bindings.processOrder-in-0.destination"},
		// Inherited from stream.default: the key written there.
		{"stream.bindings.processOrder-in-0.consumer.back-off-multiplier", "application.properties:4", "spring.cloud.stream.default.consumer.back_off_multiplier"},
		{"stream.bindings.processOrder-in-0.consumer.concurrency", "application.properties:5", "stream.default.consumer.concurrency"},
		{"stream.default.consumer.concurrency", "application.properties:5", ""},
		// Another origin than the key's: nothing.
		{"stream.bindings.processOrder-in-0.group", "env STREAM_BINDINGS_PROCESSORDER_IN_0_GROUP", ""},
		{"stream.bindings.processOrder-in-0.consumer.max-attempts", "env X", ""},
		{"stream.bindings.processOrder-in-0.consumer.max-attempts", "", ""},
		{"stream.shutdown-timeout", "application.yaml:2", ""},
	} {
		if got := c.WrittenKey(tc.path, tc.origin); got != tc.want {
			t.Errorf("WrittenKey(%s, %s) = %q, want %q", tc.path, tc.origin, got, tc.want)
		}
	}
	if got := (*stream.Config)(nil).WrittenKey("stream.x", "a:1"); got != "" {
		t.Errorf("nil Config: %q", got)
	}

	// Error shows Key in Path's place; Path is kept for matching.
	e := &stream.ConfigError{Path: "stream.default.consumer.back-off-multiplier", Key: "spring.cloud.stream.default.consumer.back_off_multiplier",
		Origin: "application.properties:4", Msg: "must be at least 1.0, got 0.5"}
	if got, want := e.Error(), "spring.cloud.stream.default.consumer.back_off_multiplier (application.properties:4): must be at least 1.0, got 0.5"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if e.Shown() != e.Key {
		t.Errorf("Shown() = %q", e.Shown())
	}
	if e := (&stream.ConfigError{Key: "k", Origin: "o", Msg: "m"}); e.Error() != "o: m" {
		t.Errorf("no Path: %q", e.Error()) // a Key without a Path is not shown
	}
}
