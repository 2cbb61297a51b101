package stream

import (
	"strings"
	"testing"
)

// TestSpELNumericLiterals: SpEL's numeric literals (Spring's "Literal
// Expressions": int or long, hexadecimal int or long, real float or
// double, with exponents) compile with SpEL's values. An SCSt
// configuration's headers['n'] == 42L failed to compile ("bad number
// syntax"), and so did 1.5d and 1.5f; a long compares with an int by
// value, as SpEL's Long and Integer do.
func TestSpELNumericLiterals(t *testing.T) {
	hdr := Headers{"n": "42", "p": "16", "f": "1.5"}
	for _, c := range []struct {
		src  string
		want any
	}{
		{"headers['n'] == 42L", true},
		{"headers.n == 42l", true},
		{"42L == 42", true},
		{"42L", 42},
		{"42L + 1", 43},
		{"9223372036854775807L", 9223372036854775807},
		{"3000000000", 3000000000}, // SpEL asks for the L; read as the long it is
		{"0x2A", 42},
		{"0X2a == 42", true},
		{"0x2AL", 42},
		{"0xffL", 255},
		{"headers['p'] == 0x10", true},
		{"1.5", 1.5},
		{"1.5 * 2", 3.0},
		{"1.5d", 1.5},
		{"1.5D", 1.5},
		{"1.5f", 1.5},
		{"1.5F == 1.5", true},
		{"0.1f == 0.1", false}, // a float's 0.1 is not a double's, as in SpEL
		{"0.1f", float64(float32(0.1))},
		{"3d", 3.0},
		{"7 / 2d", 3.5}, // a double: not integer division
		{"7 / 2f", 3.5},
		{"7 / 2", 3},
		{"1e3", 1000.0},
		{"1E3", 1000.0},
		{"1e+3", 1000.0},
		{"1.5e-3", 0.0015},
		{"2E2d", 200.0},
		{"1e3f", 1000.0},
		{"1e-400", 0.0},
		{"headers.f == 1.5d", true},
		{"headers['n'] > 41L and headers['n'] lt 0x2B", true},
		{"3.toString()", "3"},
		{"42L.toString()", "42"},
		{"payload.list[1]", 20},
		{"-42L", -42},
		{"10 % 4L", 2},
	} {
		e, err := CompileExpression(c.src, "", "payload", "headers")
		if err != nil {
			t.Errorf("%s: compile: %v", c.src, err)
			continue
		}
		got, err := e.Eval(map[string]any{"payload": []byte(`{"list":[10,20]}`), "headers": hdr})
		if err != nil {
			t.Errorf("%s: eval: %v", c.src, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %#v (%T), want %#v (%T)", c.src, got, got, c.want, c.want)
		}
	}
	// What SpEL does not take is refused when compiled, naming the literal.
	for src, want := range map[string]string{
		"1.5L":                  "numeric literal 1.5L is not supported: a real cannot be a long",
		"1_000":                 "numeric literal 1_000 is not supported",
		"0b101":                 "numeric literal 0b101 is not supported",
		"0o17":                  "numeric literal 0o17 is not supported",
		"42u":                   "numeric literal 42u is not supported",
		"0x":                    "numeric literal 0x is not supported",
		"0xZ":                   "numeric literal 0xZ is not supported",
		"1e":                    "numeric literal 1e is not supported",
		"1e+":                   "numeric literal 1e is not supported",
		"1e3L":                  "numeric literal 1e3L is not supported",
		"1.5dd":                 "numeric literal 1.5dd is not supported",
		".5":                    "numeric literal .5 is not supported: a SpEL real has a digit before its point",
		"headers.n == .5":       "numeric literal .5 is not supported",
		"9223372036854775808L":  "numeric literal 9223372036854775808L is beyond a long",
		"99999999999999999999":  "numeric literal 99999999999999999999 is beyond a long",
		"0x10000000000000000L":  "numeric literal 0x10000000000000000L is beyond a long",
		"1e999":                 "numeric literal 1e999 is beyond a double",
		"1e39f":                 "numeric literal 1e39f is beyond a float",
		"headers['n'] == 42LL":  "numeric literal 42LL is not supported",
		"headers['n'] == 4_2L":  "numeric literal 4_2L is not supported",
		"payload.a == 0x2A.5":   "",
		"payload.a == 12ab + 1": "numeric literal 12ab is not supported",
	} {
		_, err := CompileExpression(src, "", "payload", "headers")
		if want == "" {
			continue // only must not panic
		}
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "expression "+`"`+src+`"`) {
			t.Errorf("%s: error %v, want one quoting the expression with %q", src, err, want)
		}
		if err != nil && !strings.Contains(err.Error(), "is beyond") && !strings.Contains(err.Error(), "42L, 0x2A") {
			t.Errorf("%s: error %v does not list SpEL's numeric forms", src, err)
		}
	}
}
