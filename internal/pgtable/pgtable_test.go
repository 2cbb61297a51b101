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

// TestQuoted: SQL takes the names quoted, so that keywords are names.
func TestQuoted(t *testing.T) {
	for in, want := range map[string]string{"user": `"user"`, "select.order": `"select"."order"`, "app.outbox": `"app"."outbox"`} {
		tb, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if got := tb.Quoted(); got != want {
			t.Errorf("Parse(%q).Quoted() = %s, want %s", in, got, want)
		}
	}
	tb := Table{Schema: "end", Name: "t"}
	if got := tb.QuotedIdent("t_notify"); got != `"end"."t_notify"` {
		t.Errorf("QuotedIdent = %s", got)
	}
	if got := tb.QuotedSchema(); got != `"end"` {
		t.Errorf("QuotedSchema = %s", got)
	}
	if got := (Table{Name: "t"}).QuotedSchema(); got != "" {
		t.Errorf("QuotedSchema of an unqualified name = %q", got)
	}
}
