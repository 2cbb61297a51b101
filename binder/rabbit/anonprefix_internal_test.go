package rabbit

import "testing"

// TestAnonymousGroupPrefix: SCSt's anonymous-group-prefix (default
// "anonymous.") names an anonymous consumer's queue
// <prefix><destination>.<anonymous-group-prefix><id>; any other value was
// refused.
func TestAnonymousGroupPrefix(t *testing.T) {
	for _, tc := range []struct {
		ext  map[string]any
		want string
	}{
		{nil, "orders.anonymous.ID"},
		{map[string]any{"anonymous-group-prefix": "tmp-"}, "orders.tmp-ID"},
		{map[string]any{"anonymousGroupPrefix": ""}, "orders.ID"},
		{map[string]any{"prefix": "dev.", "anonymous-group-prefix": "x."}, "dev.orders.x.ID"},
	} {
		o, err := parseConsumerOptions("in", 1, tc.ext)
		if err != nil {
			t.Fatalf("%v: %v", tc.ext, err)
		}
		if got := o.anonymousQueue("orders", "ID"); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.ext, got, tc.want)
		}
	}
}
