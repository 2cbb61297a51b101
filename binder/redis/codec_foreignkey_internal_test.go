package redis

import "testing"

// TestDecodeForeignKeyFieldKept: an entry written by another program (no
// payload field) is delivered as a JSON object of all its fields: a field
// named key is in the object as well as the message key. It was taken as
// the key only, and missing from the payload.
func TestDecodeForeignKeyFieldKept(t *testing.T) {
	env := decode(map[string]any{"key": "7", "sku": "42", "h:trace": "t1"})
	if got, want := string(env.Payload), `{"key":"7","sku":"42"}`; got != want {
		t.Errorf("payload %s, want %s", got, want)
	}
	if string(env.Key) != "7" {
		t.Errorf("key %q, want 7", env.Key)
	}
	if env.Headers["trace"] != "t1" {
		t.Errorf("headers %v, want trace t1", env.Headers)
	}
	// The binder's own entries: the key is the key, not in the payload.
	env = decode(map[string]any{"key": "7", "payload": "p"})
	if string(env.Payload) != "p" || string(env.Key) != "7" {
		t.Errorf("binder entry: payload %q key %q, want p and 7", env.Payload, env.Key)
	}
}
