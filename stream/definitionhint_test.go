package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// The trial wrote the definition as a list (createOrder,enrichOrder,...):
// "function \"createOrder,enrichOrder,...\" is not registered" did not say
// that definitions are separated by ';'. And a misspelt name (enrichOrdr)
// listed the registered names without pointing at the one it misspells.
// Spring Cloud Function reads ',' as '|', so an SCSt application of
// "a,b" ran the composition a|b: the hint offers that reading beside the
// ';' one, for the whole ';'-separated item.
func TestDefinitionProblemHints(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "createOrder", func(context.Context) (string, error) { return "", nil })
	stream.AddFunction(fns, "enrichOrder", func(_ context.Context, s string) (string, error) { return s, nil })
	stream.AddFunction(fns, "inventory", func(_ context.Context, s string) (string, error) { return s, nil })
	stream.AddConsumer(fns, "payment", func(context.Context, string) error { return nil })
	for _, c := range []struct{ def, want, not string }{
		{"createOrder,enrichOrder,inventory,payment",
			`function "createOrder,enrichOrder,inventory,payment" is not registered: the definition separates functions with ';' and composes them with '|', not ','; did you mean "createOrder;enrichOrder;inventory;payment" (separate functions) or "createOrder|enrichOrder|inventory|payment" (their composition, which Spring Cloud Function reads ',' as, so what an SCSt application of this definition ran)?`, ""},
		{"enrichOrder|inventory, payment",
			// The whole item is suggested, not just the part with ','.
			`function "inventory, payment" is not registered: the definition separates functions with ';' and composes them with '|', not ','; did you mean "enrichOrder|inventory;payment" (separate functions) or "enrichOrder|inventory|payment" (their composition, which Spring Cloud Function reads ',' as, so what an SCSt application of this definition ran)?`, ""},
		{"enrichOrdr;payment",
			`function "enrichOrdr" is not registered; did you mean enrichOrder? (registered: createOrder, enrichOrder, inventory, payment)`, ""},
		// A part not registered: no ';' hint, no guess for the whole.
		{"enrichOrder,shipping",
			`function "enrichOrder,shipping" is not registered (registered: createOrder, enrichOrder, inventory, payment)`, "did you mean"},
		{"billing",
			`function "billing" is not registered (registered: createOrder, enrichOrder, inventory, payment)`, "did you mean"},
	} {
		cfg := loadYAML(t, "stream:\n  function:\n    definition: "+c.def+"\n")
		_, err := stream.NewApp(cfg, fns, typesOpts("memory")...)
		if err == nil {
			t.Errorf("%s: no error", c.def)
			continue
		}
		if got := err.Error(); !strings.Contains(got, c.want) || c.not != "" && strings.Contains(got, c.not) {
			t.Errorf("%s:\n got %s\nwant %s", c.def, got, c.want)
		}
	}
}
