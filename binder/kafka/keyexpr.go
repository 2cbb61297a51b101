package kafka

import (
	"fmt"
	"strings"

	"github.com/streambind/streambind/stream"
)

// keyExpression is a producer's message-key-expression (SCSt's
// messageKeyExpression): an expression in the core's SpEL subset
// (stream.CompileExpression; docs/conventions.md, "Expressions") over the
// outgoing message — headers (its headers) and payload (the payload
// decoded as JSON, else its text) — whose result is the record key:
// headers['orderId'], payload.customer.id, 'k-' + headers.region.
type keyExpression struct {
	expr        *stream.Expression
	usesPayload bool // decoding the payload costs: only when named
}

func compileKeyExpression(s string) (*keyExpression, error) {
	e, err := stream.CompileExpression(s, "", "payload", "headers")
	if err != nil {
		return nil, err
	}
	return &keyExpression{expr: e, usesPayload: strings.Contains(s, "payload")}, nil
}

// key evaluates the expression on m: a string result is the key's bytes,
// a number or boolean its text, null no key.
func (k *keyExpression) key(m stream.Envelope) ([]byte, error) {
	hs := m.Headers
	if hs == nil {
		hs = stream.Headers{}
	}
	vars := map[string]any{"headers": hs}
	if k.usesPayload {
		vars["payload"] = stream.ExpressionPayload(m.Payload)
	}
	v, err := k.expr.Eval(vars)
	if err != nil {
		return nil, fmt.Errorf("message-key-expression: %w", err)
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(x), nil
	case map[string]any, []any:
		return nil, fmt.Errorf("message-key-expression %q: the result is a JSON object or list, not a key", k.expr)
	}
	return []byte(stream.ExpressionText(v)), nil
}
