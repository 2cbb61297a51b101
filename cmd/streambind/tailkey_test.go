package main

import (
	"encoding/json"
	"testing"
)

// tail prints a key as text when it is printable, else in base64 (a JSON
// string would replace bytes that are not UTF-8), and leaves out "key"
// when the message has none.
func TestTailKeyValue(t *testing.T) {
	for _, c := range []struct {
		key  []byte
		want string
	}{
		{nil, `{"headers":null,"payload":1}`},
		{[]byte("order-7"), `{"headers":null,"key":"order-7","payload":1}`},
		{[]byte{0xff, 0x00, 'k'}, `{"headers":null,"key":{"b64":"/wBr"},"payload":1}`},
		{[]byte("a\x1b[2Jb"), `{"headers":null,"key":{"b64":"YRtbMkpi"},"payload":1}`},
	} {
		b, err := json.Marshal(tailed{Key: keyValue(c.key), Payload: payloadValue([]byte("1"))})
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("key %q: %s, want %s", c.key, b, c.want)
		}
	}
}
