package stream_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// twoRabbits declares two binders of type rabbit, each its own virtual
// host, and a Kafka binder (the multi-binder trial's configuration).
const twoRabbits = `spring.cloud.stream:
  function.definition: relay
  binders:
    events:
      type: kafka
      environment: { brokers: 127.0.0.1:29092 }
    warehouse:
      type: rabbit
      environment: { addresses: 127.0.0.1:5672, virtual-host: vh-a }
    archive:
      type: rabbit
      environment: { addresses: 127.0.0.1:5672, virtual-host: vh-b }
`

func relayCatalog() *stream.Catalog {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, s string) (string, error) { return s, nil })
	return fns
}

// newAppRecording returns NewApp's error and the binders it created.
func newAppRecording(t *testing.T, yaml string) ([]string, error) {
	t.Helper()
	var created []string
	capture := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		created = append(created, s.Name)
		return memory.New(ctx, stream.BinderSettings{Name: s.Name, Type: memory.Type})
	}
	_, err := stream.NewApp(loadYAML(t, yaml), relayCatalog(), stream.WithoutSignals(), stream.WithLogger(discardLogger()),
		stream.WithBinderType("kafka", capture), stream.WithBinderType("rabbit", capture))
	return created, err
}

var fileLineOrigin = regexp.MustCompile(`^.+:\d+$`)

// A binding (or the default binder) naming a binder TYPE while binders of
// that type are declared was given a third, undeclared binder with the
// type's defaults (127.0.0.1:5672, virtual host /) and declared its
// exchanges and queues there. SCSt refuses that name ("Unknown binder
// configuration"): it is an error at the key that names it, listing the
// declared binders of the type.
func TestBinderTypeNameWithDeclaredBindersOfThatType(t *testing.T) {
	for _, tc := range []struct{ name, extra, key string }{
		{"binding", "  bindings:\n    relay-in-0: { binder: events, destination: in, group: g }\n    relay-out-0: { binder: rabbit, destination: out }\n",
			"stream.bindings.relay-out-0.binder"},
		{"binding, other case", "  bindings:\n    relay-in-0: { binder: events, destination: in, group: g }\n    relay-out-0: { binder: Rabbit, destination: out }\n",
			"stream.bindings.relay-out-0.binder"},
		{"default-binder", "  default-binder: rabbit\n  bindings:\n    relay-in-0: { binder: events, destination: in, group: g }\n",
			"stream.default-binder"},
		{"stream.default.binder", "  default.binder: rabbit\n  bindings:\n    relay-in-0: { binder: events, destination: in, group: g }\n",
			"stream.default.binder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			created, err := newAppRecording(t, twoRabbits+tc.extra)
			if err == nil {
				t.Fatalf("NewApp: no error; binders created %v", created)
			}
			errs := configErrs(t, err)
			if len(errs) != 1 {
				t.Fatalf("want one problem, got %v", err)
			}
			e := errs[0]
			if e.Path != tc.key || !fileLineOrigin.MatchString(e.Origin) ||
				!strings.Contains(e.Msg, `binder "rabbit" names a binder type while binders archive, warehouse of that type are declared`) ||
				!strings.Contains(e.Msg, "name one of them") {
				t.Errorf("got %s (origin %q), want it at %s with its line", e, e.Origin, tc.key)
			}
			for _, n := range created {
				if n == "rabbit" {
					t.Errorf("an undeclared binder %q was created", n)
				}
			}
		})
	}
}

// The type name stays the implicit binder of that type when no binder of
// the type is declared (as in SCSt), and a declared binder named after a
// type is that binder, whatever the other declared binders' types.
func TestBinderTypeNameStillImplicitOrDeclared(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // binders created
	}{
		{"no binder of the type declared", `spring.cloud.stream:
  function.definition: relay
  binders:
    events: { type: kafka }
  bindings:
    relay-in-0: { binder: events, destination: in, group: g }
    relay-out-0: { binder: rabbit, destination: out }
`, []string{"events", "rabbit"}},
		{"a declared binder named after the type", twoRabbits + `    rabbit: { type: rabbit }
  bindings:
    relay-in-0: { binder: events, destination: in, group: g }
    relay-out-0: { binder: rabbit, destination: out }
`, []string{"events", "rabbit"}},
		{"a declared binder named after another type", `spring.cloud.stream:
  function.definition: relay
  binders:
    kafka: { type: rabbit }
    events: { type: kafka }
  bindings:
    relay-in-0: { binder: events, destination: in, group: g }
    relay-out-0: { binder: kafka, destination: out }
`, []string{"events", "kafka"}},
		{"the declared binders named", twoRabbits + `  bindings:
    relay-in-0: { binder: warehouse, destination: in, group: g }
    relay-out-0: { binder: archive, destination: out }
`, []string{"archive", "warehouse"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			created, err := newAppRecording(t, tc.yaml)
			if err != nil {
				t.Fatal(err)
			}
			if got := keysOf(setOf(created)); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("binders created %v, want %v", got, tc.want)
			}
		})
	}
}

// Every declared binder of a type opted out (default-candidate: false)
// and that type the only one registered: SCSt has no default binder then
// (the type is configured, so not added as a binder of its own). The
// bindings that name none used to get an undeclared binder of the type.
func TestNoCandidateDoesNotMakeTheDeclaredTypeImplicit(t *testing.T) {
	created, err := newAppRecording(t, `spring.cloud.stream:
  function.definition: relay
  binders:
    events: { type: kafka }
    warehouse: { type: rabbit, default-candidate: false }
    archive: { type: rabbit, default-candidate: false }
  bindings:
    relay-in-0: { binder: events, destination: in, group: g }
`)
	// kafka and rabbit are registered and declared, events is a candidate:
	// the default is events.
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(setOf(created)); strings.Join(got, ",") != "events" {
		t.Errorf("binders created %v, want events", got)
	}
	cfg := stream.Config{Binders: map[string]stream.BinderConfig{
		"warehouse": {Type: "rabbit", DefaultCandidate: new(false)},
		"archive":   {Type: "rabbit", DefaultCandidate: new(false)},
	}}
	if name, why := stream.DefaultBinderOf(&cfg, []string{"rabbit"}); name != "" || !strings.Contains(why, "no binder declared under stream.binders is a default candidate") {
		t.Errorf("DefaultBinderOf = %q, %q; want none", name, why)
	}
	if name, _ := stream.DefaultBinderOf(&cfg, []string{"rabbit", "memory"}); name != "memory" {
		t.Errorf("DefaultBinderOf = %q, want memory (the one type no declared binder has)", name)
	}
}

// With several binders declared and no default, the problem names the
// bindings that name no binder, each with where it is configured (the
// line of its key, not of its first setting), and has no origin: the key
// is not set. It was at line 1 of the file, then at the first binding's
// first key (its destination's line), which read as stream.default-binder's.
func TestNoDefaultBinderNamesTheBindings(t *testing.T) {
	_, err := newAppRecording(t, twoRabbits+`  bindings:
    relay-in-0: { destination: in, group: g }
    relay-out-0:
      destination: out
`)
	errs := configErrs(t, err)
	if len(errs) != 1 {
		t.Fatalf("want one problem, got %v", err)
	}
	e := errs[0]
	if e.Path != "stream.default-binder" || e.Origin != "" ||
		!strings.Contains(e.Msg, "3 binders are declared under stream.binders (archive, events, warehouse): set stream.default-binder to the one the bindings that name no binder use") ||
		!strings.HasSuffix(e.Msg, " (the bindings that name none: relay-in-0 (application.yaml:14), relay-out-0 (application.yaml:15))") {
		t.Errorf("got %s (origin %q)", e, e.Origin)
	}
}

func setOf(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}
