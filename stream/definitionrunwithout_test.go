package stream_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// A producer-only process started with the service's configuration file,
// which names the service's processor, failed with 'function "process"
// is not registered (registered: )' and no word on how to run it: the
// error now says (an empty definition from the environment or a profile),
// and each way it names works.
func TestDefinitionNotRegisteredSaysHowToRunWithout(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("application.yaml", "spring:\n  cloud:\n    function:\n      definition: process\n    stream:\n      function:\n        bindings:\n          process-out-0: orders\n")
	write("application-producer.yaml", "spring:\n  cloud:\n    function:\n      definition: ''\n")
	load := func(env, profiles []string) *stream.Config {
		t.Helper()
		l, err := config.Load(config.Options{Dir: dir, Env: env, Profiles: profiles})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		return l.Stream
	}

	// Nothing registered.
	_, err := stream.NewApp(load([]string{}, nil), stream.NewCatalog(), typesOpts("memory")...)
	if err == nil {
		t.Fatal("NewApp: no error")
	}
	for _, want := range []string{
		`function "process" is not registered (registered: none)`,
		"STREAM_FUNCTION_DEFINITION= (empty",
		"stream.function.definition: '' in a profile",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}

	// Another function registered, not that one.
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "audit", func(context.Context, string) error { return nil })
	_, err = stream.NewApp(load([]string{}, nil), fns, typesOpts("memory")...)
	if err == nil || !strings.Contains(err.Error(), `(registered: audit); if this process does not run "process", give it its own definition: STREAM_FUNCTION_DEFINITION=`) {
		t.Errorf("error with audit registered: %v", err)
	}

	// The ways the error names.
	for name, c := range map[string]struct{ env, profiles []string }{
		"STREAM_FUNCTION_DEFINITION=":       {env: []string{"STREAM_FUNCTION_DEFINITION="}},
		"SPRING_CLOUD_FUNCTION_DEFINITION=": {env: []string{"SPRING_CLOUD_FUNCTION_DEFINITION="}},
		"profile":                           {env: []string{}, profiles: []string{"producer"}},
	} {
		if _, err := stream.NewApp(load(c.env, c.profiles), stream.NewCatalog(), typesOpts("memory")...); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDefinitionNotRegisteredSaidOnce: several names of the definition
// not registered are one problem, its how-to said once; ship;bill with
// nothing registered gave two long copies.
func TestDefinitionNotRegisteredSaidOnce(t *testing.T) {
	for _, c := range []struct {
		register bool
		want     string
	}{
		{false, `functions "ship" and "bill" are not registered (registered: none)`},
		{true, `functions "ship" and "bil" (did you mean bill?) are not registered (registered: bill, log)`},
	} {
		fns := stream.NewCatalog()
		def := "ship;bill"
		if c.register {
			stream.AddConsumer(fns, "bill", func(context.Context, string) error { return nil })
			stream.AddConsumer(fns, "log", func(context.Context, string) error { return nil })
			def = "ship;bil;ship"
		}
		cfg := loadYAML(t, "stream:\n  function:\n    definition: "+def+"\n")
		_, err := stream.NewApp(cfg, fns, typesOpts("memory")...)
		if err == nil {
			t.Fatalf("%s: no error", def)
		}
		got := err.Error()
		if !strings.Contains(got, c.want) {
			t.Errorf("%s:\n got %s\nwant %s", def, got, c.want)
		}
		for _, once := range []string{"STREAM_FUNCTION_DEFINITION=", "not registered"} {
			if n := strings.Count(got, once); n != 1 {
				t.Errorf("%s: %q said %d times, want once: %s", def, once, n, got)
			}
		}
	}
}
