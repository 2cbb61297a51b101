package stream

import (
	"strings"
	"testing"
)

func TestExpressionSubset(t *testing.T) {
	type item struct {
		SKU string `json:"sku"`
	}
	type order struct {
		CustomerID string `json:"customerId"`
		Qty        int
		Items      []item `json:"items"`
		Meta       map[string]any
	}
	o := order{CustomerID: "c-7", Qty: 7, Items: []item{{SKU: "s1"}}, Meta: map[string]any{"region": "eu"}}
	hdr := Headers{"type": "order", "x-id": "42", "empty": ""}
	json := []byte(`{"a":{"b":"deep"},"n":7,"f":1.5,"list":[10,20]}`)
	cases := []struct {
		src     string
		payload any
		want    any
	}{
		{"payload.customerId", o, "c-7"},
		{"payload.CustomerID", o, "c-7"},
		{"payload['customerId']", o, "c-7"},
		{"payload.items[0].sku", o, "s1"},
		{"payload.meta['region']", o, "eu"},
		{"payload.meta['nope']", o, nil},
		{"payload?.meta?.region", o, "eu"},
		{"headers['type']", o, "order"},
		{"headers.type", o, "order"},
		{"headers['missing']", o, nil},
		{"payload.a.b", json, "deep"},
		{"payload['a']['b']", json, "deep"},
		{"payload.n / 2", json, 3},
		{"payload.f * 2", json, 3.0},
		{"payload.n % 4", json, 3},
		{"payload.list[1] + 1", json, 21},
		{"7 / 2", nil, 3},
		{"7.0 / 2", nil, 3.5},
		{"'a' + 1", nil, "a1"},
		{"'it''s'", nil, "it's"},
		{`"say ""hi"""`, nil, `say "hi"`},
		{`'back\slash'`, nil, `back\slash`},
		{"headers['type'] == 'order' && payload.qty > 5", o, true},
		{"headers.type == 'order' and not (payload.qty le 5)", o, true},
		{"headers.type != 'order' or payload.qty eq 7", o, true},
		{"!(payload.qty >= 8) || false", o, true},
		{"payload.qty mod 4 == 3 ? 'odd' : 'even'", o, "odd"},
		{"payload.qty div 2", o, 3},
		{"headers['missing'] ?: 'dflt'", o, "dflt"},
		{"headers['empty'] ?: 'dflt'", o, "dflt"},
		{"headers.type ?: 'dflt'", o, "order"},
		{"headers['missing'] == null", o, true},
		{"payload.customerId.hashCode()", o, 96589},
		{"payload.qty.hashCode()", o, 7},
		{"payload.qty.toString() + '!'", o, "7!"},
		{"payload.n.toString()", json, "7"},
		{"headers['missing']?.toString()", o, nil},
		{"'polygenelubricants'.hashCode()", nil, -2147483648},
		{"(1 == 1).hashCode()", nil, 1231},
		{"-payload.qty + 1", o, -6},
	}
	for _, c := range cases {
		e, err := CompileExpression(c.src, "", "payload", "headers")
		if err != nil {
			t.Errorf("%s: compile: %v", c.src, err)
			continue
		}
		got, err := e.Eval(map[string]any{"payload": c.payload, "headers": hdr})
		if err != nil {
			t.Errorf("%s: eval: %v", c.src, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %#v (%T), want %#v (%T)", c.src, got, got, c.want, c.want)
		}
	}
}

func TestExpressionRefusesOutsideTheSubset(t *testing.T) {
	cases := map[string]string{
		"T(java.lang.Math).random()":            "type reference T(...)",
		"T (java.lang.Runtime).getRuntime()":    "type reference T(...)",
		"#root.payload":                         "variable reference #root",
		"#this":                                 "variable reference #this",
		"new java.lang.String('x')":             "constructor call (new)",
		"payload.name.toUpperCase()":            "method toUpperCase() is not supported",
		"headers.x.equals('y')":                 "method equals() is not supported",
		"payload.toString(1)":                   "takes no arguments",
		"@myBean.x":                             "bean reference",
		"payload.items.?[qty > 1]":              "selection or projection ?[...]",
		"payload.items.![sku]":                  "collection projection .![...] is not supported",
		"{1, 2}":                                "inline list or map",
		"payload.a = 1":                         "assignment",
		"payload.a matches '[a-z]+'":            "operator matches",
		"payload instanceof T(String)":          "operator instanceof",
		"2 ^ 3":                                 "power operator ^",
		"len(payload)":                          "function call len(...) is not supported",
		"foo":                                   `unknown name "foo" (available: headers, payload)`,
		"payload.a in ['x']":                    "operator in is not supported",
		"'unterminated":                         "unterminated string literal",
		"hashCode()":                            "function call hashCode(...) is not supported",
		"":                                      "is empty",
		"payload.a; payload.b":                  "separated by ';'",
		"payload.a | upper()":                   "not supported",
		"payload.a contains 'x'":                "operator contains is not supported",
		"let x = 1; x":                          "not supported",
		"payload.items[0:1]":                    "slice",
		"payload.a startsWith 'x'":              "operator startsWith is not supported",
		"payload.a ?? 'x' ?? 'y' + 1 == 2 && 1": "",
	}
	for src, want := range cases {
		_, err := CompileExpression(src, "", "payload", "headers")
		if want == "" {
			continue // only must not panic
		}
		if err == nil {
			t.Errorf("%q: compiled, want an error containing %q", src, want)
			continue
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "expression ") {
			t.Errorf("%q: error %q, want it to quote the expression and contain %q", src, err, want)
		}
	}
}

func TestSelectorExpressionRootIsTheKey(t *testing.T) {
	e, err := CompileExpression("hashCode() % 3", "key", "key")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Eval(map[string]any{"key": "Aa"})
	if err != nil || got != 2112%3 {
		t.Fatalf("got %v, %v", got, err)
	}
	e, err = CompileExpression("toString() == 'c-1' ? 0 : 1", "key", "key")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.Eval(map[string]any{"key": "c-1"}); err != nil || got != 0 {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestExpressionEvalErrorsQuoteTheExpression(t *testing.T) {
	e, err := CompileExpression("payload.nope.x", "", "payload", "headers")
	if err != nil {
		t.Fatal(err)
	}
	type s struct{ A int }
	_, err = e.Eval(map[string]any{"payload": s{1}})
	if err == nil || !strings.Contains(err.Error(), `expression "payload.nope.x"`) || !strings.Contains(err.Error(), `no field "nope"`) {
		t.Fatalf("err = %v", err)
	}
	e, _ = CompileExpression("headers['x'].toString()", "", "payload", "headers")
	if _, err = e.Eval(map[string]any{"headers": Headers{}}); err == nil || !strings.Contains(err.Error(), "toString() called on null") {
		t.Fatalf("err = %v", err)
	}
	e, _ = CompileExpression("1 / payload", "", "payload", "headers")
	if _, err = e.Eval(map[string]any{"payload": 0}); err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("err = %v", err)
	}
}

// The per-message cost of a compiled expression against a simple key form.
func BenchmarkPartitionKey(b *testing.B) {
	type order struct {
		CustomerID string `json:"customerId"`
	}
	o, h := order{CustomerID: "c-7"}, Headers{"region": "eu"}
	for _, src := range []string{"payload.customerId", "headers['region'] + ':' + payload.customerId"} {
		k, err := compileKeyExpression(src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(src, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Extract(o, h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestExpressionBigIntegers: JSON integers beyond int64 stay exact (Jackson
// reads them as BigInteger), so keys of distinct ids differ; their hash is
// BigInteger.hashCode, as SCSt's default partition selection computes it.
func TestExpressionBigIntegers(t *testing.T) {
	e, err := CompileExpression("payload.id", "", "payload", "headers")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, id := range []string{"18446744073709551615", "18446744073709551614", "-18446744073709551615", "9223372036854775808"} {
		v, err := e.Eval(map[string]any{"payload": []byte(`{"id":` + id + `}`)})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if got := KeyString(v); got != id {
			t.Errorf("KeyString(payload.id) = %q, want %q", got, id)
		}
		keys[KeyString(v)] = true
	}
	if len(keys) != 4 {
		t.Errorf("distinct ids gave %d keys", len(keys))
	}
	// BigInteger.hashCode as Java computes it: the magnitude's words
	// 0xFFFFFFFF 0xFFFFFFFF give (int)(31*-1 + 0xFFFFFFFFL) = -32, times
	// the sign; 2^63's 0x80000000 0 give 31*MIN_VALUE, which wraps to
	// MIN_VALUE.
	for s, want := range map[string]int32{"18446744073709551615": -32, "-18446744073709551615": 32, "9223372036854775808": -2147483648} {
		v, _ := e.Eval(map[string]any{"payload": []byte(`{"id":` + s + `}`)})
		if got := PartitionHash(v); got != want {
			t.Errorf("PartitionHash(%s) = %d, want %d", s, got, want)
		}
	}
	h, err := CompileExpression("payload.id.hashCode()", "", "payload", "headers")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := h.Eval(map[string]any{"payload": []byte(`{"id":18446744073709551615}`)}); err != nil || v != -32 {
		t.Errorf("payload.id.hashCode() = %v, %v; want -32", v, err)
	}
	if v, _ := e.Eval(map[string]any{"payload": []byte(`{"id":1e20}`)}); v != 1e20 {
		t.Errorf("1e20 = %#v, want the float64 (a Double, as Jackson reads it)", v)
	}
}

// TestExpressionNumericHeaders: a header holding a number is that number
// to - * / % and unary -, as in SCSt where a Java producer's Integer
// header stays an Integer: SCSt's RabbitMQ partitioning sample partitions
// by headers['partitionKey'] - 1. Before 0e16817, every such message failed
// its send ("invalid operation: string - int"). A header that is no number
// (or not as Java writes one: "007", " 5") is still an error.
func TestExpressionNumericHeaders(t *testing.T) {
	h := Headers{"partitionKey": "3", "n": "42", "f": "2.5", "neg": "-4", "word": "abc", "zero": "0", "lead": "007", "sp": " 5"}
	for src, want := range map[string]any{
		"headers['partitionKey'] - 1": 2,
		"headers.n * 2":               84,
		"headers.n / 4":               10,
		"headers.n % 5":               2,
		"headers.f - 1":               1.5,
		"10 - headers.neg":            14,
		"-headers.n":                  -42,
		"headers.n - headers.neg":     46,
	} {
		if got, err := evalHeaders(t, src, h, nil); err != nil || got != want {
			t.Errorf("%s = %v (%T), %v; want %v", src, got, got, err, want)
		}
	}
	for src, want := range map[string]string{
		"headers.word - 1":         "invalid operation: string - int",
		"headers.lead - 1":         "invalid operation: string - int",
		"headers.sp - 1":           "invalid operation: string - int",
		"-headers.word":            "invalid operation: - string",
		"headers.n % headers.zero": "division by zero",
	} {
		if _, err := evalHeaders(t, src, h, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", src, err, want)
		}
	}
}

// evalHeaders compiles src with payload and headers and evaluates it.
func evalHeaders(t *testing.T, src string, h Headers, payload any) (any, error) {
	t.Helper()
	e, err := CompileExpression(src, "", "payload", "headers")
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return e.Eval(map[string]any{"headers": h, "payload": payload})
}

// TestExpressionHeaderBesideNumber: a header holding a number is that
// number to + and the comparisons when the other side is a number, so that
// an expression gives what SCSt gives for a Java producer's Integer header:
// headers['p'] + 1 is 41 (0e16817 made it "401" while headers['p'] - 1 was
// 39), headers['p'] > 5 compares numbers (it failed: "string > int") and
// headers['p'] == 40 is true (it was false). Beside text or alone, a header
// stays text (a Java String header): == '40', + 'x', + another header, the
// bare header as a partition key. Strings that are not headers (payload
// fields, literals) are never numbers, as in SpEL ('12' - 1 is an error
// there): 0e16817 read them as numbers to - * / %.
func TestExpressionHeaderBesideNumber(t *testing.T) {
	h := Headers{"p": "40", "q": "9", "f": "2.5", "lead": "007", "word": "abc"}
	payload := map[string]any{"k": "007", "s": "12", "n": 5}
	for src, want := range map[string]any{
		"headers['p'] + 1":          41,
		"1 + headers.p":             41,
		"headers.f + 1":             3.5,
		"headers.p + payload.n":     45,
		"headers.p + 'x'":           "40x",
		"headers.p + headers.q":     "409",
		"headers.lead + 1":          "0071",
		"headers.p > 5":             true,
		"headers.p gt 5":            true,
		"headers.p < 5":             false,
		"5 < headers.p":             true,
		"headers.p >= 40.0":         true,
		"headers.p == 40":           true,
		"headers.p eq 40":           true,
		"headers.p != 40":           false,
		"headers.p == '40'":         true,
		"headers.p > headers.q":     false, // text: "40" < "9"
		"headers.lead == 7":         false,
		"headers.word == 1":         false,
		"headers.missing == null":   true,
		"headers['p']":              "40",
		"headers.p.hashCode()":      1660, // "40".hashCode(), a String header's
		"payload.s + 1":             "121",
		"payload.n + headers.p":     45,
		"(headers.p + 1) % 4":       1,
		"headers.p > 5 ? 'a' : 'b'": "a",
	} {
		if got, err := evalHeaders(t, src, h, payload); err != nil || got != want {
			t.Errorf("%s = %#v, %v; want %#v", src, got, err, want)
		}
	}
	for src, want := range map[string]string{
		"payload.s - 1":    "invalid operation: string - int",
		"payload.k * 2":    "invalid operation: string * int",
		"'12' - 1":         "invalid operation: string - int",
		"'12' / 3":         "cannot divide string by int",
		"payload.s > 5":    "invalid operation: string > int",
		"headers.word > 5": "invalid operation: string > int",
	} {
		if _, err := evalHeaders(t, src, h, payload); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", src, err, want)
		}
	}
	// The partition: that of SCSt's Integer 41 (41 % 4), and for the bare
	// header that of the String "40" ("40".hashCode() % 4), as before.
	for expr, want := range map[string]int{"headers['p'] + 1": 1, "headers['p']": 1660 % 4, "headers['p'] * 1": 0} {
		pt, err := newPartitioner(ProducerConfig{PartitionKeyExpression: expr, PartitionCount: 4}, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := pt.partition("x", h); err != nil || n != want {
			t.Errorf("%s: partition %d, %v; want %d", expr, n, err, want)
		}
	}
}

// TestExpressionNullOrders: SpEL orders null below every value
// (StandardTypeComparator), so a comparison with a missing header or field
// is true or false, as in SCSt, not an error that dead-letters the message.
func TestExpressionNullOrders(t *testing.T) {
	h := Headers{"p": "40"}
	payload := map[string]any{"n": 5}
	for src, want := range map[string]any{
		"null > 1":                        false,
		"null < 1":                        true,
		"null <= 1":                       true,
		"null >= 1":                       false,
		"1 > null":                        true,
		"1 < null":                        false,
		"null < null":                     false,
		"null <= null":                    true,
		"null >= null":                    true,
		"'a' > null":                      true,
		"headers['missing'] > 5":          false,
		"headers.missing lt 5":            true,
		"payload.missing >= 0":            false,
		"payload?.missing?.x < 1":         true,
		"headers.missing > 5 ? 'a' : 'b'": "b",
		"headers.p > 5":                   true,
		"payload.n > 4":                   true,
		"payload.n < 4":                   false,
	} {
		if got, err := evalHeaders(t, src, h, payload); err != nil || got != want {
			t.Errorf("%s = %#v, %v; want %#v", src, got, err, want)
		}
	}
	// Not null, not comparable: still an error naming the types.
	if _, err := evalHeaders(t, "payload.n > 'x'", h, payload); err == nil {
		t.Error("payload.n > 'x': no error")
	}
}
