package kafka

import (
	"strings"
	"testing"
)

// The stall WARN shows a record key's first bytes and its size, not the
// whole key: a key can be as large as a record and hold personal data.
func TestLogKeyBounded(t *testing.T) {
	long := strings.Repeat("customer-", 100)
	for _, tc := range []struct {
		key  []byte
		want string
	}{
		{nil, "none"},
		{[]byte("k3"), `"k3"`},
		{[]byte{0xff, 0x01}, "0xff01"},
		{[]byte(long), `"customer-customer-customer-custo"… (900 bytes)`},
		// Cut inside a rune: the text stays text, a byte or two shorter.
		{[]byte(strings.Repeat("a", 31) + "é" + long), `"` + strings.Repeat("a", 31) + `"… (933 bytes)`},
	} {
		if got := logKey(tc.key); got != tc.want {
			t.Errorf("logKey(%.20q): %s, want %s", tc.key, got, tc.want)
		}
	}
}
