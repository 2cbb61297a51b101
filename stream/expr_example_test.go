package stream_test

import (
	"fmt"

	"github.com/streambind/streambind/stream"
)

// An SCSt partition-key-expression, compiled once and evaluated per
// message; hashCode() is Java's.
func ExampleCompileExpression() {
	e, err := stream.CompileExpression("headers['region'] + ':' + payload.customerId", "", "payload", "headers")
	if err != nil {
		panic(err)
	}
	key, _ := e.Eval(map[string]any{
		"payload": []byte(`{"customerId":"c-7"}`),
		"headers": stream.Headers{"region": "eu"},
	})
	fmt.Println(key)

	h, _ := stream.CompileExpression("payload.hashCode()", "", "payload")
	v, _ := h.Eval(map[string]any{"payload": "c-7"})
	fmt.Println(v)

	_, err = stream.CompileExpression("T(java.lang.Runtime).getRuntime()", "", "payload", "headers")
	fmt.Println(err != nil)
	// Output:
	// eu:c-7
	// 96589
	// true
}
