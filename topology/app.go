package topology

import (
	"strings"

	"github.com/streambind/streambind/stream"
)

// FromApp describes a built app (running or not) as a service named name:
// its bound functions and every binding, with the binder-specific
// sections of its configuration and, where its binder can tell
// ([stream.DeadLetterSourcer]), the binder's naming of its dead letters.
// Files and profiles are left empty.
func FromApp(app *stream.App, name string) ServiceSpec {
	s := ServiceSpec{Name: name, Functions: []FunctionSpec{}}
	fnOf := map[string]string{} // binding name → function
	for _, f := range app.BoundFunctions() {
		s.Functions = append(s.Functions, FunctionSpec{Name: f.Name, Kind: f.Kind})
		for _, b := range []string{f.Input, f.Output} {
			if b != "" {
				fnOf[b] = f.Name
			}
		}
	}
	cfg := app.Config()
	binders := app.Binders()
	for _, b := range app.Bindings() {
		bc := b.Config()
		cons, prod := cfg.Extension(b.BinderType(), b.Name())
		ext := prod
		if b.IsInput() {
			ext = cons
		}
		var dests []string
		for _, d := range strings.Split(b.Destination(), ",") {
			if d = strings.TrimSpace(d); d != "" {
				dests = append(dests, d)
			}
		}
		spec := BindingSpec{
			Name: b.Name(), Function: fnOf[b.Name()], Input: b.IsInput(), Configured: true,
			Destinations: dests, Group: b.Group(), BinderName: b.Binder(), BinderType: b.BinderType(),
			ContentType: bc.ContentType, Consumer: bc.Consumer, Producer: bc.Producer, Extension: ext,
		}
		if ds, ok := binders[b.Binder()].(stream.DeadLetterSourcer); ok {
			spec.DeadLetterSource = ds.DeadLetterSource
		}
		s.Bindings = append(s.Bindings, spec)
	}
	return s
}
