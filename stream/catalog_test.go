package stream

import (
	"context"
	"strings"
	"testing"
)

func TestResolveDefinition(t *testing.T) {
	c := NewCatalog()
	AddSupplier(c, "src", func(context.Context) (int, error) { return 1, nil })
	AddFunction(c, "double", func(_ context.Context, i int) (int, error) { return 2 * i, nil })
	AddFunction(c, "str", func(_ context.Context, i int) (string, error) { return "x", nil })
	AddConsumer(c, "sink", func(context.Context, string) error { return nil })

	good := map[string][]struct {
		name string
		kind Kind
	}{
		"double":              {{"double", KindFunction}},
		"src;sink":            {{"src", KindSupplier}, {"sink", KindConsumer}},
		" double | str ":      {{"double|str", KindFunction}},
		"double|str|sink":     {{"double|str|sink", KindConsumer}},
		"src|double;str|sink": {{"src|double", KindSupplier}, {"str|sink", KindConsumer}},
	}
	for def, want := range good {
		got, probs := c.resolve(def)
		if len(probs) > 0 || len(got) != len(want) {
			t.Fatalf("%q: %v %v", def, got, probs)
		}
		for i, w := range want {
			if got[i].name != w.name || got[i].kind != w.kind {
				t.Errorf("%q[%d] = %s %s, want %s %s", def, i, got[i].name, got[i].kind, w.name, w.kind)
			}
		}
	}
	bad := map[string]string{
		"nope":          "not registered",
		"double;double": "listed twice",
		"sink|double":   "only be last",
		"double|src":    "only be first",
		"src|sink":      "no binding",
		"":              "4 functions are registered",
	}
	for def, want := range bad {
		_, probs := c.resolve(def)
		if len(probs) != 1 || !strings.Contains(probs[0], want) {
			t.Errorf("%q: want one problem containing %q, got %v", def, want, probs)
		}
	}
}

func TestCatalogRejectsBadNames(t *testing.T) {
	c := NewCatalog()
	f := func(context.Context, int) error { return nil }
	AddConsumer(c, "a", f)
	AddConsumer(c, "a", f)
	AddConsumer(c, "A", f)
	AddConsumer(c, "a|b", f)
	AddConsumer(c, "", f)
	if len(c.errs) != 4 {
		t.Fatalf("want 4 registration errors, got %v", c.errs)
	}
}
