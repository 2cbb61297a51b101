package stream_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// Expression errors say what is wrong in the expression's terms.
func TestExpressionErrorMessages(t *testing.T) {
	type inner struct{ B int }
	type payload struct {
		A *inner
		N int
	}
	for _, tc := range []struct {
		src  string
		env  map[string]any
		want string
	}{
		{"payload.A.B", map[string]any{"payload": payload{}}, `expression "payload.A.B": cannot read B of null`},
		{"payload.A.B", map[string]any{"payload": &payload{}}, `cannot read B of null`},
		{"payload.A", map[string]any{"payload": (*payload)(nil)}, `cannot read A of null`},
		{"1 % 0", nil, `expression "1 % 0": division by zero`},
		{"payload.N % 0", map[string]any{"payload": payload{}}, `expression "payload.N % 0": division by zero`},
	} {
		e, err := stream.CompileExpression(tc.src, "", "payload", "headers")
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		_, err = e.Eval(tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "runtime error") {
			t.Errorf("%s: error %v, want %q", tc.src, err, tc.want)
		}
	}
	if v, err := stream.CompileExpression("payload.A", "", "payload"); err != nil {
		t.Fatal(err)
	} else if got, err := v.Eval(map[string]any{"payload": payload{}}); err != nil || got != nil {
		t.Errorf("a nil pointer field: %v, %v; want null", got, err)
	}
	if _, err := stream.CompileExpression("payload.![a]", "", "payload"); err == nil || !strings.Contains(err.Error(), "collection projection .![...] is not supported") {
		t.Errorf("projection: %v", err)
	}
}

// A constant routing-expression that names no routable function is
// refused at start-up, not at every message.
func TestConstantRoutingExpressionNamingNothing(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "up", func(context.Context, string) error { return nil })
	yaml := "stream:\n  function:\n    definition: functionRouter\n    routing-expression: \"%s\"\n  bindings:\n    functionRouter-in-0: {destination: d, group: g}\n"
	for _, tc := range []struct{ ex, want string }{
		{"'nope'", `expression "'nope'" is constant and yields "nope", which names no registered function or consumer (routable: up)`},
		{"1", "yields 1, which names no"},
		{"'a|b'", "routing to a composition or a list is not supported"},
	} {
		_, err := stream.NewApp(loadYAML(t, strings.Replace(yaml, "%s", tc.ex, 1)), fns, typesOpts("memory")...)
		errs := configErrs(t, err)
		if len(errs) != 1 || errs[0].Path != "stream.function.routing-expression" || !strings.Contains(errs[0].Msg, tc.want) {
			t.Errorf("%s: errors %v", tc.ex, errs)
		}
	}
	for _, ok := range []string{"'up'", "headers['to']"} {
		if _, err := stream.NewApp(loadYAML(t, strings.Replace(yaml, "%s", ok, 1)), fns, typesOpts("memory")...); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// An unknown binder type lists the registered ones and the nearest.
func TestUnknownBinderTypeDidYouMean(t *testing.T) {
	_, err := stream.BinderTypes{"kafka": nil, "memory": nil, "rabbit": nil}.Lookup("rabbitt")
	if err == nil || err.Error() != `unknown binder type "rabbitt" (registered: kafka, memory, rabbit; did you mean rabbit?)` {
		t.Errorf("error %v", err)
	}
}

// A default-binder that names nothing suggests the nearest binder.
func TestUnknownDefaultBinderDidYouMean(t *testing.T) {
	cfg := loadYAML(t, "stream:\n  default-binder: rabbitt\n  function:\n    definition: a\n")
	_, err := stream.NewApp(cfg, twoConsumers(), typesOpts("kafka", "rabbit")...)
	errs := configErrs(t, err)
	if len(errs) != 1 || errs[0].Path != "stream.default-binder" || !strings.HasSuffix(errs[0].Msg, "(kafka, rabbit); did you mean rabbit?") {
		t.Errorf("errors %v", errs)
	}
}
