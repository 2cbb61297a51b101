package stream

import (
	"errors"
	"math"
	"testing"
)

func TestStringHashMatchesJava(t *testing.T) {
	// Values of java.lang.String#hashCode.
	cases := map[string]int32{
		"":                   0,
		"hello":              99162322,
		"c-7":                96589,
		"Aa":                 2112,
		"BB":                 2112,
		"polygenelubricants": math.MinInt32,
		"é":                  233,
		"😀":                  1772899, // a surrogate pair: hashed as two UTF-16 units
	}
	for s, want := range cases {
		if got := StringHash(s); got != want {
			t.Errorf("StringHash(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestPartitionHashNumbers(t *testing.T) {
	// Integer.hashCode is the value; Long.hashCode folds the halves.
	if got := PartitionHash(42); got != 42 {
		t.Errorf("PartitionHash(42) = %d", got)
	}
	big := int64(1) << 40
	if got := PartitionHash(big); got != int32(big^(big>>32)) {
		t.Errorf("PartitionHash(1<<40) = %d", got)
	}
	if PartitionHash(float64(7)) != PartitionHash(7) {
		t.Error("a JSON number 7 must hash like the integer 7")
	}
}

func TestSelectPartition(t *testing.T) {
	cases := []struct {
		hash  int32
		count int
		want  int
	}{
		{0, 3, 0}, {4, 3, 1}, {-4, 3, 1}, {math.MinInt32, 3, 0}, {math.MinInt32 + 1, 3, 1}, {math.MaxInt32, 1, 0},
	}
	for _, c := range cases {
		if got := SelectPartition(c.hash, c.count); got != c.want {
			t.Errorf("SelectPartition(%d, %d) = %d, want %d", c.hash, c.count, got, c.want)
		}
	}
}

func TestKeyExpression(t *testing.T) {
	type customer struct {
		ID string `json:"id"`
	}
	type order struct {
		CustomerID string    `json:"customerId"`
		Customer   *customer `json:"customer"`
		Quantity   int
	}
	o := order{CustomerID: "c-7", Customer: &customer{ID: "c-9"}, Quantity: 3}
	cases := []struct {
		expr    string
		payload any
		headers Headers
		want    any
		wantErr bool
	}{
		{"payload.customerId", o, nil, "c-7", false},
		{"payload.CustomerID", &o, nil, "c-7", false},
		{"payload.customer.id", o, nil, "c-9", false},
		{"payload.quantity", o, nil, 3, false},
		{"payload.customerId", []byte(`{"customerId":"c-1"}`), nil, "c-1", false},
		{"payload.customerId", map[string]any{"customerId": "c-2"}, nil, "c-2", false},
		{"headers.tenant", nil, Headers{"tenant": "t1"}, "t1", false},
		{"key", nil, Headers{"key": "k"}, "k", false},
		{"payload.missing", o, nil, nil, true},
		{"headers.tenant", nil, nil, nil, true},
		{"payload.customer.id", order{}, nil, nil, true},
		{"payload.customerId", []byte(`not json`), nil, nil, true},
		// A string payload is its own key, as SCSt's String (JSON-looking
		// text included: "123" is the text, not the number); bytes that
		// are not JSON are their text.
		{"payload", "order-7", nil, "order-7", false},
		{"payload", []byte("order-8"), nil, "order-8", false},
		{"payload", `"quoted"`, nil, `"quoted"`, false},
		{"payload", "123", nil, "123", false},
		{"payload", "null", nil, "null", false},
		// A JSON null, or no payload, is no key (it panicked).
		{"payload", []byte("null"), nil, nil, true},
		{"payload", nil, nil, nil, true},
	}
	for _, c := range cases {
		e, err := ParseKeyExpression(c.expr)
		if err != nil {
			t.Fatalf("ParseKeyExpression(%q): %v", c.expr, err)
		}
		got, err := e.Extract(c.payload, c.headers)
		if c.wantErr {
			if !errors.Is(err, errNoKey) {
				t.Errorf("%s on %v: want a no-key error, got %v, %v", c.expr, c.payload, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s on %v = %v, %v; want %v", c.expr, c.payload, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "payload.", "payload..x", "headers", "key.x", "foo.bar", "customerId"} {
		if _, err := ParseKeyExpression(bad); err == nil {
			t.Errorf("ParseKeyExpression(%q) accepted", bad)
		}
	}
}
