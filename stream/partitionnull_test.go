package stream_test

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestPartitionKeyOfNullPayload: a partition-key-expression's field of a
// payload that has none (JSON null, a number, a field that is null) says
// so in the payload's words, not reflection's ("cannot take \"customerId\"
// of invalid", which streambind send printed for 'null').
func TestPartitionKeyOfNullPayload(t *testing.T) {
	for _, tc := range []struct {
		expr, payload, want string
	}{
		{"payload.customerId", `null`, `the payload is null: it has no field "customerId"`},
		{"payload.customerId", `5`, `the payload is a number, not an object: it has no field "customerId"`},
		{"payload.customerId", `"x"`, `the payload is a string, not an object: it has no field "customerId"`},
		{"payload.customerId", `[1]`, `the payload is an array, not an object: it has no field "customerId"`},
		{"payload.customer.id", `{"customer":null}`, `payload.customer is null: it has no field "id"`},
	} {
		e, err := stream.ParseKeyExpression(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Extract([]byte(tc.payload), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "invalid") || strings.Contains(err.Error(), "cannot take") {
			t.Errorf("%s of %s: %v; want it to say %q", tc.expr, tc.payload, err, tc.want)
		}
	}
}
