package redis

import (
	"errors"
	"testing"

	"github.com/streambind/streambind/binder/internal/lagread"
)

// TestGroupLagReplies: groupLag reads the group's lag from XINFO GROUPS
// as RESP2 (field-value arrays) and RESP3 (maps) give it; nil (the server
// cannot tell) is not a number, a missing group is not found, and a reply
// without lag fields (Redis 6.2) is lagread.ErrUnsupported.
func TestGroupLagReplies(t *testing.T) {
	resp2 := []any{
		[]any{"name", "other", "lag", int64(9)},
		[]any{"name", "g", "consumers", int64(1), "lag", int64(4)},
	}
	resp3 := []any{map[any]any{"name": "other", "lag": int64(2)}, map[any]any{"name": "g", "lag": nil}}
	for _, tc := range []struct {
		name         string
		reply        any
		lag          int64
		found, known bool
		unsupported  bool
	}{
		{"resp2", resp2, 4, true, true, false},
		{"resp3 map", []any{map[any]any{"name": "g", "lag": int64(0)}}, 0, true, true, false},
		{"nil lag", resp3, 0, true, false, false},
		{"no group", []any{map[any]any{"name": "h", "lag": int64(1)}}, 0, false, false, false},
		{"6.2", []any{[]any{"name", "g", "pending", int64(2)}}, 0, true, false, true},
	} {
		lag, found, known, err := groupLag(tc.reply, "g")
		if lag != tc.lag || found != tc.found || known != tc.known || errors.Is(err, lagread.ErrUnsupported) != tc.unsupported {
			t.Errorf("%s: groupLag = %d, %v, %v, %v", tc.name, lag, found, known, err)
		}
	}
}
