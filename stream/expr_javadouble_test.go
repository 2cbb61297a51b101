package stream

import (
	"fmt"
	"math"
	"testing"
)

// TestExpressionDoubleText: a Double becomes text as Java writes it
// (Double.toString): SpEL's (1.5 * 2).toString() is "3.0", 'k' + 2.0d is
// "k2.0" and 1e10d.toString() is "1.0E10", where Go's forms ("3", "k2",
// "10000000000") gave a partition key, idempotency key, Kafka record key
// or RabbitMQ routing key other text than SCSt's, and so another hash.
func TestExpressionDoubleText(t *testing.T) {
	for f, want := range map[float64]string{
		2:                           "2.0",
		-2:                          "-2.0",
		2.5:                         "2.5",
		0.1:                         "0.1",
		0.001:                       "0.001",
		0.0015:                      "0.0015",
		0.000999:                    "9.99E-4",
		1.5e-4:                      "1.5E-4",
		1234567.5:                   "1234567.5",
		9999999:                     "9999999.0",
		1e7:                         "1.0E7",
		12345678:                    "1.2345678E7",
		1e10:                        "1.0E10",
		1e21:                        "1.0E21",
		1e23:                        "1.0E23",
		100:                         "100.0",
		math.MaxFloat64:             "1.7976931348623157E308",
		math.SmallestNonzeroFloat64: "4.9E-324",
		0:                           "0.0",
		math.Copysign(0, -1):        "-0.0",
		math.Inf(1):                 "Infinity",
		math.Inf(-1):                "-Infinity",
		1.0 / 3:                     "0.3333333333333333",
	} {
		if got := javaDouble(f); got != want {
			t.Errorf("javaDouble(%v) = %q, want %q (Java's Double.toString)", f, got, want)
		}
	}
	if got := javaDouble(math.NaN()); got != "NaN" {
		t.Errorf("javaDouble(NaN) = %q", got)
	}
	for src, want := range map[string]string{
		"(1.5 * 2).toString()":     "3.0",
		"'k' + 2.0d":               "k2.0",
		"'k' + 1.5":                "k1.5",
		"1e10d.toString()":         "1.0E10",
		"payload.price.toString()": "2.0", // a JSON 2.0 is a Double (Jackson)
		"'n' + 3":                  "n3",  // an Integer stays as it is
	} {
		e, err := CompileExpression(src, "", "payload", "headers")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, err := e.Eval(map[string]any{"payload": []byte(`{"price":2.0}`), "headers": Headers{}})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got != want {
			t.Errorf("%s = %#v, want %q", src, got, want)
		}
	}
	for v, want := range map[any]string{nil: "null", 2.0: "2.0", 7: "7", true: "true", "x": "x"} {
		if got := ExpressionText(v); got != want {
			t.Errorf("ExpressionText(%#v) = %q, want %q", v, got, want)
		}
	}
}

// TestExpressionPayloadIsOneJSONValue: a payload is JSON only when it is
// one JSON value and nothing else; otherwise it is its text, as where
// Jackson refuses it.
func TestExpressionPayloadIsOneJSONValue(t *testing.T) {
	for in, want := range map[string]any{
		`{"id":7}`:  map[string]any{"id": 7},
		` 7 `:       7,
		`2.0`:       2.0,
		`{"id":7}}`: `{"id":7}}`,
		`{"id":7}]`: `{"id":7}]`,
		`{"a":1} x`: `{"a":1} x`,
		`7 8`:       `7 8`,
		`abc`:       `abc`,
		``:          ``,
	} {
		got := ExpressionPayload([]byte(in))
		if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
			t.Errorf("ExpressionPayload(%q) = %#v, want %#v", in, got, want)
		}
	}
}
