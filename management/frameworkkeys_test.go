package management

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/config"
)

// config.FrameworkKeys lists the management keys this package reads, so
// that an environment variable overrides them when no file sets them. The
// list must match ConfigFrom: every listed key is accepted, and every key
// ConfigFrom knows (a "management...." literal in config.go) is listed.
func TestFrameworkKeysMatchConfigFrom(t *testing.T) {
	listed := map[string]bool{}
	for _, k := range config.FrameworkKeys() {
		if strings.HasPrefix(k, "management.") {
			listed[k] = true
		}
	}
	for k := range listed {
		_, err := ConfigFrom(tree(k, "x"))
		if err != nil && strings.Contains(err.Error(), k+": unknown key") {
			t.Errorf("config.FrameworkKeys lists %s, but ConfigFrom does not know it", k)
		}
	}

	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "config.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`^management(\.[a-z][a-z-]*)+$`)
	read := 0
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil || !key.MatchString(s) {
			return true
		}
		read++
		if s == pathMappingKey {
			return true // a map (endpoint id → path), not a key of its own
		}
		if !listed[s] {
			t.Errorf("ConfigFrom reads %s (%s), but config.FrameworkKeys does not list it", s, fset.Position(lit.Pos()))
		}
		return true
	})
	if read < len(listed) {
		t.Errorf("found %d management keys in config.go, fewer than the %d listed", read, len(listed))
	}
}

// tree builds the configuration tree {a: {b: {c: v}}} of key path "a.b.c".
func tree(path string, v any) map[string]any {
	segs := strings.Split(path, ".")
	for i := len(segs) - 1; i >= 0; i-- {
		v = map[string]any{segs[i]: v}
	}
	return v.(map[string]any)
}

// The management keys are overridden from the environment when no file
// sets them, and in the files' own spelling when one does.
func TestConfigFromEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        []string
		want       Config
	}{
		{"no file", "", []string{"MANAGEMENT_SERVER_ADDRESS=127.0.0.1:9000", "MANAGEMENT_SERVER_READ_TIMEOUT=2s",
			"MANAGEMENT_SERVER_MAXCONNECTIONS=8", "MANAGEMENT_ENDPOINT_CONFIG_SHOW_VALUES=always"},
			Config{Address: "127.0.0.1:9000", ReadTimeout: 2 * time.Second, MaxConnections: 8, ShowValues: ShowAlways, ConfigEndpoint: true}},
		{"camelCase in the file", "management:\n  server: { address: ':1', readHeaderTimeout: 1s }\n",
			[]string{"MANAGEMENT_SERVER_READ_HEADER_TIMEOUT=3s", "MANAGEMENT_ENDPOINT_CONFIG_ENABLED=false"},
			Config{Address: ":1", ReadHeaderTimeout: 3 * time.Second, ConfigEndpoint: false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loaded, err := config.Load(config.Options{Data: []byte(tc.yaml), Env: tc.env})
			if err != nil {
				t.Fatal(err)
			}
			got, err := ConfigFrom(loaded.Raw)
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.want.withDefaults(); !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			for _, kv := range tc.env {
				name, _, _ := strings.Cut(kv, "=")
				if !slices.ContainsFunc(mapValues(loaded.Stream.Origins), func(o string) bool { return o == "env "+name }) {
					t.Errorf("no key has the origin env %s", name)
				}
			}
		})
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
