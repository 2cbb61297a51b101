package telemetry

import (
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/streambind/streambind/config"
)

// config.FrameworkKeys lists the logging and tracing keys this package
// reads, so that an environment variable overrides them when no file sets
// them. The list must match ConfigFrom: every listed key is accepted, and
// every key ConfigFrom switches on (in decode) is listed; and so must
// logKeys and tracingKeys, the keys an unknown key's message suggests.
func TestFrameworkKeysMatchConfigFrom(t *testing.T) {
	ours := map[string]bool{} // listed keys of this package, last element without '-'
	for _, k := range config.FrameworkKeys() {
		if !strings.HasPrefix(k, "logging.") && !strings.HasPrefix(k, "management.tracing.") {
			continue
		}
		segs := strings.Split(k, ".")
		ours[strings.ReplaceAll(segs[len(segs)-1], "-", "")] = true
		raw := map[string]any{}
		m := raw
		for _, s := range segs[:len(segs)-1] {
			next := map[string]any{}
			m[s] = next
			m = next
		}
		m[segs[len(segs)-1]] = "x"
		if _, err := ConfigFrom(raw); err != nil && strings.Contains(err.Error(), k+": unknown key") {
			t.Errorf("config.FrameworkKeys lists %s, but ConfigFrom does not know it", k)
		}
	}

	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "telemetry.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "decode" {
			continue
		}
		ast.Inspect(fn, func(n ast.Node) bool {
			cc, ok := n.(*ast.CaseClause)
			if !ok {
				return true
			}
			for _, e := range cc.List {
				lit, ok := e.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				s, _ := strconv.Unquote(lit.Value)
				read++
				if !ours[s] {
					t.Errorf("ConfigFrom reads the key %q (%s), but config.FrameworkKeys lists no logging.* or management.tracing.* key of that name", s, fset.Position(lit.Pos()))
				}
			}
			return true
		})
	}
	if read < len(ours) {
		t.Errorf("found %d keys in ConfigFrom, fewer than the %d listed", read, len(ours))
	}
	if n := len(logKeys) + len(tracingKeys); n != len(ours) {
		t.Errorf("logKeys and tracingKeys list %d keys, config.FrameworkKeys %d", n, len(ours))
	}
	for _, k := range append(slices.Clone(logKeys), tracingKeys...) {
		if !ours[strings.ReplaceAll(k, "-", "")] {
			t.Errorf("logKeys or tracingKeys lists %q, which config.FrameworkKeys does not", k)
		}
	}
}

// LOGGING_LEVEL and the tracing keys are overridden from the environment
// when no file sets them.
func TestConfigFromEnvironment(t *testing.T) {
	loaded, err := config.Load(config.Options{Data: []byte("logging: { format: json }\n"), Env: []string{
		"LOGGING_LEVEL=warn", "LOGGING_FORMAT=text", "MANAGEMENT_TRACING_EXPORTER=otlp", "MANAGEMENT_TRACING_SAMPLING_PROBABILITY=0.25",
		"MANAGEMENT_TRACING_SERVICENAME=billing", "MANAGEMENT_TRACING_INSECURE=true",
	}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ConfigFrom(loaded.Raw)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Log: LogConfig{Level: slog.LevelWarn, Format: "text"},
		Tracing: TracingConfig{Exporter: "otlp", SamplingProbability: 0.25, ServiceName: "billing", Insecure: true}}
	if c != want {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
	if o := loaded.Stream.Origins["logging.level"]; o != "env LOGGING_LEVEL" {
		t.Errorf("origin of logging.level = %q", o)
	}
}
