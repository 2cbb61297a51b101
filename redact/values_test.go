package redact

import (
	"strings"
	"testing"
	"time"
)

func TestValues(t *testing.T) {
	var v Values
	v.Add("hunter2")
	v.Add(" Spaced pw ")
	v.Add(`q"uote`)
	v.Add("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz") // longer than a message shows
	v.Add("")
	for _, tc := range []struct{ in, want string }{
		{`expected an integer, got "hunter2"; value from ${DB_PASSWORD}`, `expected an integer, got "******"; value from ${DB_PASSWORD}`},
		{"localhost:hunter2", "localhost:******"},
		{"HUNTER2 and hunter2", "****** and ******"},
		{`got "Spaced pw"`, `got "******"`},
		{`got "q\"uote"`, `got "******"`},
		{`got "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmn"...`, `got "******"...`},
		{"nothing here: hunter", "nothing here: hunter"},
		{"0123456789abcdef-other", "0123456789abcdef-other"}, // a start of a secret that goes on otherwise
		{"cut: 0123456789abcdef", "cut: ******"},
	} {
		if got := v.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	tree := v.Tree(map[string]any{"port": "hunter2", "addresses": []any{"h:hunter2"}, "n": 3, "m": map[string]string{"k": "x hunter2"}}).(map[string]any)
	if s := strings.Join([]string{tree["port"].(string), tree["addresses"].([]any)[0].(string), tree["m"].(map[string]any)["k"].(string)}, " "); strings.Contains(s, "hunter2") || tree["n"] != 3 {
		t.Errorf("Tree: %v", tree)
	}
	var num Values
	num.Add("5672")
	if got := num.Tree(map[string]any{"port": 5672}).(map[string]any)["port"]; got != Redacted {
		t.Errorf("a number whose text is a secret: %v", got)
	}
	var zero *Values
	if zero.String("hunter2") != "hunter2" || zero.Tree("x") != "x" {
		t.Error("the zero Values hides something")
	}
}

// Values.String takes linear time: a secret and a value of 1 MiB that
// repeat one character, cut short everywhere.
func TestValuesLinear(t *testing.T) {
	var v Values
	v.Add(strings.Repeat("a", 1<<19))
	s := strings.Repeat("a...", 1<<18)
	done := make(chan string, 1)
	go func() { done <- v.String(s) }()
	select {
	case got := <-done:
		if strings.Contains(got, "aaaaaaaa") {
			t.Error("a start of the secret is shown")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("String takes more than 10s for 1 MiB")
	}
}
