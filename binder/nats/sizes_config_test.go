package nats

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestStreamSizeLimits: the stream's byte limits take a size as Spring
// writes it (10GB), and max-bytes may exceed 2 GiB (JetStream keeps it as
// a 64-bit number; it was refused above 2147483647); max-msg-size stays
// within 32 bits.
func TestStreamSizeLimits(t *testing.T) {
	st, err := parseSettings(stream.BinderSettings{Name: "n", Type: Type, Binder: map[string]any{
		"stream": map[string]any{"max-bytes": "10GB", "max-msg-size": "1MB"}}})
	if err != nil || st.stream.maxBytes != 10<<30 || st.stream.maxMsgSize != 1<<20 {
		t.Fatalf("max-bytes 10GB, max-msg-size 1MB: %+v, %v", st.stream, err)
	}
	st, err = parseSettings(stream.BinderSettings{Name: "n", Type: Type, Binder: map[string]any{
		"stream": map[string]any{"max-bytes": 10737418240, "max-msg-size": -1}}})
	if err != nil || st.stream.maxBytes != 10<<30 || st.stream.maxMsgSize != -1 {
		t.Fatalf("max-bytes 10737418240: %+v, %v", st.stream, err)
	}
	if _, err := parseSettings(stream.BinderSettings{Name: "n", Type: Type, Binder: map[string]any{
		"stream": map[string]any{"max-msg-size": "4GB"}}}); err == nil {
		t.Fatal("max-msg-size 4GB accepted; want an error (32 bits)")
	}
}
