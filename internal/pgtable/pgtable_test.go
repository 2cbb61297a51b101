package pgtable

import "testing"

func TestParse(t *testing.T) {
	for in, want := range map[string]string{"marks": "marks", "app.outbox": "app.outbox"} {
		got, err := Parse(in)
		if err != nil || got.Qualified() != want {
			t.Errorf("Parse(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "a.b.c", "Bad", "x;drop", "a-b", "s." + string(make([]byte, 51))} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
	if got := (Table{Schema: "s", Name: "t"}).Ident("t_idx"); got != "s.t_idx" {
		t.Errorf("Ident = %q", got)
	}
}
