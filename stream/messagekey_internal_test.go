package stream

import "testing"

// The bridge's caller keeps the buffer of a Message's Key (copyKey), a
// kafka_messageKey header beside it or not: with the header the Key was
// sent as it was given, the binder keeping the caller's buffer.
func TestWithMessageKeyCopiesTheKey(t *testing.T) {
	for _, hdr := range []Headers{nil, {HeaderMessageKey: "hk"}} {
		key := []byte("k")
		env := Envelope{Headers: hdr}
		withMessageKey(&env, key, true)
		if string(env.Key) != "k" || !env.keyOnly {
			t.Fatalf("headers %v: key %q keyOnly %v, want k true", hdr, env.Key, env.keyOnly)
		}
		key[0] = 'x'
		if string(env.Key) != "k" {
			t.Errorf("headers %v: the sent key is the caller's buffer (%q after the caller wrote into it)", hdr, env.Key)
		}
		if _, ok := env.Headers[HeaderMessageKey]; ok {
			t.Errorf("headers %v: %s is sent on", hdr, HeaderMessageKey)
		}
	}
}
