package docs_test

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/internal/refgen"
	"github.com/streambind/streambind/stream"
)

// root is the module root, seen from this package's directory.
const root = ".."

// TestConfigurationReferenceIsCurrent fails when configuration.md is not
// what the generator makes of the code as it is: a key, a default, a doc
// comment or a binder's settings block changed without
// `go generate ./docs`.
func TestConfigurationReferenceIsCurrent(t *testing.T) {
	var flags []string
	if raceBuild {
		flags = []string{"-race"} // the build cache holds what this binary was built from
	}
	want, err := refgen.Generate(root, flags...)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	got, err := os.ReadFile("configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("docs/configuration.md is out of date: run `go generate ./docs` and commit the result.\nFirst difference, line %d:\n  file:      %s\n  generated: %s", i+1, g, w)
		}
	}
}

// binderTypes are the binder types this test can build; a binder whose
// package doc lists settings must be here.
var binderTypes = map[string]stream.BinderFactory{
	memory.Type: memory.New,
	kafka.Type:  kafka.New,
	rabbit.Type: rabbit.New,
	nats.Type:   nats.New,
	redis.Type:  redis.New,
}

// TestBinderDocDefaultsLoad writes the settings a binder's package doc
// lists, with the defaults the doc gives, into an application.yaml and
// builds an app from it, so that the doc (and the reference made from it)
// names only keys that exist, with valid defaults:
//
//   - the top-level keys of each block, whose defaults are literals, must
//     be accepted without any error;
//   - with the sections (tls, sasl, ...) too, no key may be unknown (a
//     section can need values it has no default for, such as a user name).
//
// A default written "" or "(words)" means "not set" and is not written.
func TestBinderDocDefaultsLoad(t *testing.T) {
	docs, err := refgen.BinderDocs(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no binder found")
	}
	for _, d := range docs {
		t.Run(d.Type, func(t *testing.T) {
			factory, ok := binderTypes[d.Type]
			if !ok {
				t.Fatalf("binder type %q has no factory in binderTypes: add it", d.Type)
			}
			if len(d.Settings) == 0 {
				t.Skipf("the package doc of binder %s lists no settings", d.Type)
			}
			for _, sections := range []bool{false, true} {
				y := binderYAML(d, sections)
				err := buildApp(y, d.Type, factory)
				switch {
				case err == nil:
				case !sections:
					t.Errorf("the documented defaults are refused: %v\n%s", err, y)
				case strings.Contains(err.Error(), "unknown key"):
					t.Errorf("a documented key is unknown: %v\n%s", err, y)
				}
			}
		})
	}
}

// knownDocBugs are documented defaults that their binder refuses, by
// "type/block/key": the doc shows 0 for "derived", which the code rejects
// (zero means "not set" and an explicit 0 is an error). They are left out
// until the binder's doc writes "(words)" for them; remove an entry then.
var knownDocBugs = map[string]bool{
	"nats/consumer/partition-count":  true, // doc: 0: instance-count
	"redis/binder/pool-size":         true, // doc: 0: go-redis's default
	"redis/consumer/partition-count": true, // doc: 0: instance-count
}

// binderYAML is an application.yaml with a supplier and a consumer on a
// binder of d's type, and the settings of d with their defaults.
func binderYAML(d refgen.BinderDoc, sections bool) string {
	var y strings.Builder
	y.WriteString("stream:\n  function:\n    definition: supply;consume\n")
	y.WriteString("  default-binder: b\n  binders:\n    b:\n      type: " + d.Type + "\n")
	y.WriteString("  bindings:\n    consume-in-0: { group: g }\n")
	fmt.Fprintf(&y, "  %s:\n", d.Type)
	settings := func(block string) []refgen.Setting {
		var out []refgen.Setting
		for _, s := range d.Settings[block] {
			if !knownDocBugs[d.Type+"/"+block+"/"+s.Key] {
				out = append(out, s)
			}
		}
		return out
	}
	if s := settings("binder"); len(s) > 0 {
		y.WriteString("    binder:\n")
		writeSettings(&y, s, 6, sections)
	}
	if len(d.Settings["producer"]) > 0 || len(d.Settings["consumer"]) > 0 {
		y.WriteString("    bindings:\n")
		if s := settings("producer"); len(s) > 0 {
			y.WriteString("      supply-out-0:\n        producer:\n")
			writeSettings(&y, s, 10, sections)
		}
		if s := settings("consumer"); len(s) > 0 {
			y.WriteString("      consume-in-0:\n        consumer:\n")
			writeSettings(&y, s, 10, sections)
		}
	}
	return y.String()
}

// buildApp loads an application.yaml and builds (does not run) an app on
// it: the loader and the binder check every key and value.
func buildApp(yaml, typ string, factory stream.BinderFactory) error {
	loaded, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}})
	if err != nil {
		return err
	}
	fns := stream.NewCatalog()
	stream.AddSupplier(fns, "supply", func(context.Context) (string, error) { return "", stream.Skip })
	stream.AddConsumer(fns, "consume", func(context.Context, string) error { return nil })
	_, err = stream.NewApp(loaded.Stream, fns, stream.WithBinderType(typ, factory))
	return err
}

// writeSettings writes settings as YAML at indent, those with a literal
// default only; with sections, nested keys too.
func writeSettings(b *strings.Builder, ss []refgen.Setting, indent int, sections bool) {
	for _, s := range ss {
		depth := strings.Count(s.Key, ".")
		if !sections && (depth > 0 || s.Section) {
			continue
		}
		pad := strings.Repeat(" ", indent+2*depth)
		key := s.Key[strings.LastIndexByte(s.Key, '.')+1:]
		switch {
		case s.Section:
			fmt.Fprintf(b, "%s%s:\n", pad, key)
		case s.Value == `""` || s.Value == "''" || strings.HasPrefix(s.Value, "("):
			// not set
		default:
			fmt.Fprintf(b, "%s%s: %s\n", pad, key, s.Value)
		}
	}
}

// TestOperationsNamesEveryMetricAndEndpoint fails when package management
// serves a metric or an endpoint that operations.md does not name.
func TestOperationsNamesEveryMetricAndEndpoint(t *testing.T) {
	doc, err := os.ReadFile("operations.md")
	if err != nil {
		t.Fatal(err)
	}
	metricRE := regexp.MustCompile(`^streambind_[a-z_]+$`)
	routeRE := regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) /\S*$`)
	var metrics, routes []string
	for _, lit := range stringLiterals(t, filepath.Join(root, "management")) {
		switch {
		case metricRE.MatchString(lit):
			metrics = append(metrics, lit)
		case routeRE.MatchString(lit):
			routes = append(routes, lit)
		}
	}
	if len(metrics) == 0 || len(routes) == 0 {
		t.Fatalf("found %d metrics and %d routes in package management: the test no longer understands it", len(metrics), len(routes))
	}
	for _, m := range metrics {
		if !bytes.Contains(doc, []byte("`"+m+"`")) {
			t.Errorf("operations.md does not name the metric %s", m)
		}
	}
	for _, r := range routes {
		if !bytes.Contains(doc, []byte("`"+r+"`")) {
			t.Errorf("operations.md does not name the endpoint %q", r)
		}
	}
}

// stringLiterals returns the string literals of the non-test Go files of
// dir.
func stringLiterals(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(node ast.Node) bool {
			if lit, ok := node.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out = append(out, s)
				}
			}
			return true
		})
	}
	sort.Strings(out)
	return out
}

// TestLinksResolve fails when a relative link in docs/*.md or the README
// leads nowhere: a file or folder that does not exist, or an anchor that
// is not a heading of its file.
func TestLinksResolve(t *testing.T) {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(root, "README.md"), filepath.Join(root, "examples", "README.md"))
	more, _ := filepath.Glob(filepath.Join(root, "examples", "*", "README.md"))
	files = append(files, more...)
	linkRE := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range linkRE.FindAllStringSubmatch(stripCode(string(b)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			file := f
			if path != "" {
				file = filepath.Join(filepath.Dir(f), path)
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s: link %q: %v", f, target, err)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(file, ".md") && !hasAnchor(t, file, anchor) {
				t.Errorf("%s: link %q: no heading with that anchor in %s", f, target, file)
			}
		}
	}
}

// stripCode removes fenced code blocks, where brackets are not links.
func stripCode(s string) string {
	var out []string
	in := false
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			in = !in
			continue
		}
		if !in {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// hasAnchor reports whether a heading of file has the anchor GitHub gives
// it: lower case, punctuation other than '-' and '_' dropped, spaces
// turned into '-'.
func hasAnchor(t *testing.T, file, anchor string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(stripCode(string(b)), "\n") {
		h := strings.TrimLeft(line, "#")
		if h == line || !strings.HasPrefix(h, " ") {
			continue
		}
		var a strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(h)) {
			switch {
			case r == ' ':
				a.WriteRune('-')
			case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') || r > 127:
				a.WriteRune(r)
			}
		}
		if a.String() == anchor {
			return true
		}
	}
	return false
}

// TestGuideBlocksMatchFiles keeps the code shown in the guides true: a
// fenced block right after <!-- file: PATH --> must be the whole file at
// PATH, and one after <!-- excerpt: PATH --> must appear in it verbatim.
// The files are compiled and tested where they live (examples/).
func TestGuideBlocksMatchFiles(t *testing.T) {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	markerRE := regexp.MustCompile(`^<!-- (file|excerpt): (\S+) -->$`)
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, line := range lines {
			m := markerRE.FindStringSubmatch(strings.TrimSpace(line))
			if m == nil {
				continue
			}
			n++
			if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
				t.Errorf("%s:%d: %s marker not followed by a fenced block", f, i+1, m[1])
				continue
			}
			var block []string
			for _, l := range lines[i+2:] {
				if strings.HasPrefix(l, "```") {
					break
				}
				block = append(block, l)
			}
			want, err := os.ReadFile(m[2])
			if err != nil {
				t.Errorf("%s:%d: %v", f, i+1, err)
				continue
			}
			got := strings.Join(block, "\n")
			switch m[1] {
			case "file":
				if strings.TrimRight(got, "\n") != strings.TrimRight(string(want), "\n") {
					t.Errorf("%s:%d: the block is not %s as it is: copy the file into the guide again", f, i+1, m[2])
				}
			case "excerpt":
				if !strings.Contains(string(want), got) {
					t.Errorf("%s:%d: the block is not in %s: copy it from the file again", f, i+1, m[2])
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no <!-- file: --> or <!-- excerpt: --> marker in docs/*.md")
	}
}

// TestOperationsLogLinesExist fails when a log message operations.md
// quotes in its table of log lines is no longer logged by package stream.
func TestOperationsLogLinesExist(t *testing.T) {
	doc, err := os.ReadFile("operations.md")
	if err != nil {
		t.Fatal(err)
	}
	literals := strings.Join(stringLiterals(t, filepath.Join(root, "stream")), "\n")
	codeRE := regexp.MustCompile("`([^`]+)`")
	in, n := false, 0
	for _, line := range strings.Split(string(doc), "\n") {
		switch {
		case strings.HasPrefix(line, "| level | message |"):
			in = true
			continue
		case in && !strings.HasPrefix(line, "|"):
			in = false
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range codeRE.FindAllStringSubmatch(cells[2], -1) {
			msg, _, _ := strings.Cut(m[1], " (")
			msg = strings.TrimSuffix(msg, " /")
			n++
			if !strings.Contains(literals, msg) {
				t.Errorf("operations.md quotes the log message %q, which package stream does not log", msg)
			}
		}
	}
	if n < 5 {
		t.Fatalf("found %d log messages in operations.md's table: the test no longer understands it", n)
	}
}
