package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A misspelt name (enrichOrdr) listed the registered names without
// pointing at the one it misspells. A definition written as a list
// (createOrder,enrichOrder,...) is a composition, as Spring Cloud
// Function reads ',' as '|' (TestCommaComposesAsPipe): a part that is not
// registered is named alone.
func TestDefinitionProblemHints(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "createOrder", func(context.Context) (string, error) { return "", nil })
	stream.AddFunction(fns, "enrichOrder", func(_ context.Context, s string) (string, error) { return s, nil })
	stream.AddFunction(fns, "inventory", func(_ context.Context, s string) (string, error) { return s, nil })
	stream.AddConsumer(fns, "payment", func(context.Context, string) error { return nil })
	for _, c := range []struct{ def, want, not string }{
		{"enrichOrdr;payment",
			`function "enrichOrdr" is not registered; did you mean enrichOrder? (registered: createOrder, enrichOrder, inventory, payment)`, ""},
		// A part of a composition written with ',' not registered: named
		// alone.
		{"enrichOrder,shipping",
			`function "shipping" is not registered (registered: createOrder, enrichOrder, inventory, payment)`, "did you mean"},
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
