package redis

import (
	"testing"
)

// decode shares the payload and key with go-redis's strings (no copy);
// their capacity is their length, so that a handler's append copies
// instead of writing past them, and an empty payload is not nil.
func TestDecodeSharesPayloadReadOnly(t *testing.T) {
	env := decode(map[string]any{FieldPayload: "abc", FieldKey: "k1", "h:x": "y"})
	if string(env.Payload) != "abc" || cap(env.Payload) != len(env.Payload) {
		t.Fatalf("payload %q cap %d, want abc with cap 3", env.Payload, cap(env.Payload))
	}
	if string(env.Key) != "k1" || cap(env.Key) != len(env.Key) {
		t.Fatalf("key %q cap %d, want k1 with cap 2", env.Key, cap(env.Key))
	}
	if env.Headers["x"] != "y" || len(env.Headers) != 1 {
		t.Fatalf("headers %v", env.Headers)
	}
	grown := append(env.Payload, 'd')
	if string(env.Payload) != "abc" || string(grown) != "abcd" {
		t.Fatalf("append changed the payload: %q, %q", env.Payload, grown)
	}
	empty := decode(map[string]any{FieldPayload: ""})
	if empty.Payload == nil || len(empty.Payload) != 0 {
		t.Fatalf("empty payload %#v, want non-nil empty", empty.Payload)
	}
}
