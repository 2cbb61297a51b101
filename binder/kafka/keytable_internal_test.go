package kafka

import (
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// switchLabels returns the string case labels of the first switch
// statement directly in body.
func switchLabels(t *testing.T, body *ast.BlockStmt) []string {
	t.Helper()
	for _, st := range body.List {
		sw, ok := st.(*ast.SwitchStmt)
		if !ok {
			continue
		}
		var out []string
		for _, c := range sw.Body.List {
			for _, e := range c.(*ast.CaseClause).List {
				if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					out = append(out, s)
				}
			}
		}
		return out
	}
	t.Fatal("no switch statement")
	return nil
}

// decoderLabels returns the keys the decoders handle, by kind ("binder",
// "producer", "consumer"): the case labels of parseSettings' binderKey,
// of the function decodeProducer and decodeConsumer give d.Each, and
// of scstKey (SCSt's keys, by kind).
func decoderLabels(t *testing.T) (own, scst map[string][]string) {
	t.Helper()
	fset := token.NewFileSet()
	funcs := map[string]*ast.FuncDecl{}
	for _, file := range []string{"config.go", "scstkeys.go"} {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	// firstFuncLit finds the first function literal in fd that match
	// accepts.
	firstFuncLit := func(name string, match func(ast.Node) *ast.FuncLit) *ast.FuncLit {
		var out *ast.FuncLit
		ast.Inspect(funcs[name], func(n ast.Node) bool {
			if out == nil {
				out = match(n)
			}
			return out == nil
		})
		if out == nil {
			t.Fatalf("%s: the key decoder was not found", name)
		}
		return out
	}
	assignedTo := func(v string) func(ast.Node) *ast.FuncLit {
		return func(n ast.Node) *ast.FuncLit {
			if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == 1 {
				if id, ok := as.Lhs[0].(*ast.Ident); ok && id.Name == v {
					fl, _ := as.Rhs[0].(*ast.FuncLit)
					return fl
				}
			}
			return nil
		}
	}
	eachCall := func(n ast.Node) *ast.FuncLit {
		if c, ok := n.(*ast.CallExpr); ok {
			if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Each" {
				fl, _ := c.Args[len(c.Args)-1].(*ast.FuncLit)
				return fl
			}
		}
		return nil
	}
	own = map[string][]string{
		"binder":   switchLabels(t, firstFuncLit("parseSettings", assignedTo("binderKey")).Body),
		"producer": switchLabels(t, firstFuncLit("decodeProducer", eachCall).Body),
		"consumer": switchLabels(t, firstFuncLit("decodeConsumer", eachCall).Body),
	}
	scst = map[string][]string{}
	for _, l := range switchLabels(t, funcs["scstKey"].Body) {
		kind, k, _ := strings.Cut(l, ".")
		scst[kind] = append(scst[kind], k)
	}
	return own, scst
}

var keyTables = map[string][]keySpec{"binder": binderKeyTable, "producer": producerKeyTable, "consumer": consumerKeyTable}

// TestKeyTablesMatchDecoders: the tables the unknown-key errors list the
// known keys from hold exactly the keys the decoders handle, each as the
// binder's own or as SCSt's (scstKey), so that no accepted key can be
// left out of the list (enable-dlq, the SCSt keys taken, the aliases
// were, before the tables).
func TestKeyTablesMatchDecoders(t *testing.T) {
	own, scst := decoderLabels(t)
	for kind, table := range keyTables {
		var wantOwn, wantSCSt []string
		for _, k := range table {
			for _, n := range append([]string{k.name}, k.aliases...) {
				if k.scst {
					wantSCSt = append(wantSCSt, props.Norm(n))
				} else {
					wantOwn = append(wantOwn, props.Norm(n))
				}
			}
		}
		for _, c := range []struct {
			what      string
			got, want []string
		}{{"decoder", own[kind], wantOwn}, {"scstKey", scst[kind], wantSCSt}} {
			got, want := append([]string(nil), c.got...), c.want
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s keys: the %s handles %v, the table has %v", kind, c.what, got, want)
			}
		}
	}
}

// probeValues are values one of which each accepted key takes.
var probeValues = []any{true, false, 30, "1", "10s", "*", "none", "earliest", "all", "RECORD", "partition",
	"payload.x", "gzip", "localhost:9092", map[string]any{}, map[string]any{"enabled": true}}

// probeJAAS is a jaas section the binder takes (with security.protocol
// SASL_PLAINTEXT, which decodeKey adds beside a jaas key).
var probeJAAS = map[string]any{"login-module": plainModule, "options": map[string]any{"username": "u", "password": "probe-password"}}

// decodeKey decodes the one key k with value v as kind does.
func decodeKey(kind, k string, v any) error {
	m := map[string]any{k: v}
	if k == "jaas" {
		m["configuration"] = map[string]any{"security.protocol": "SASL_PLAINTEXT"}
	}
	var err error
	switch kind {
	case "binder":
		_, err = parseSettings(stream.BinderSettings{Name: "kafka", Type: Type, Binder: m})
	case "producer":
		st := defaultSettings()
		_, err = parseProducer(&st, "out-0", m)
	default:
		_, err = parseConsumer("in-0", m)
	}
	return err
}

// TestKnownKeysListed: every key the binder accepts (its own, their
// aliases, SCSt's it takes) is accepted at some value and listed in the
// unknown-key error, whose suggestion finds it (enable-dql: did you mean
// enable-dlq?); a key recognised only to be refused is refused, with its
// reason, and not listed. Before, enable-dlq, the aliases (linger,
// compression-type, acks, bootstrap-servers) and SCSt's keys taken (sync,
// ack-each-record, metrics, jaas ...) were left out of the list.
func TestKnownKeysListed(t *testing.T) {
	for kind, table := range keyTables {
		err := decodeKey(kind, "no-such-key", 1)
		if err == nil || !strings.Contains(err.Error(), "unknown key") {
			t.Fatalf("%s: %v", kind, err)
		}
		msg := err.Error()
		listed := map[string]bool{}
		for _, w := range strings.FieldsFunc(msg[strings.Index(msg, "(known:"):], func(r rune) bool { return strings.ContainsRune(" ,;():", r) }) {
			listed[w] = true
		}
		for _, k := range table {
			for _, n := range append([]string{k.name}, k.aliases...) {
				if listed[n] == k.refused {
					t.Errorf("%s key %s: listed %v in %q", kind, n, listed[n], msg)
				}
				if k.loader {
					continue // below
				}
				var errs []string
				ok := false
				for _, v := range append(probeValues, probeJAAS) {
					err := decodeKey(kind, n, v)
					if err == nil {
						ok = true
						break
					}
					errs = append(errs, err.Error())
				}
				switch {
				case !ok && !k.refused:
					t.Errorf("%s key %s: no value accepted: %v", kind, n, errs)
				case ok && k.refused:
					t.Errorf("%s key %s is marked refused but is accepted", kind, n)
				case k.refused && strings.Contains(strings.Join(errs, "\n"), "unknown key"):
					t.Errorf("%s key %s: refused as unknown, not with its reason: %v", kind, n, errs)
				}
			}
		}
	}
	err := decodeKey("consumer", "enable-dql", true)
	if err == nil || !strings.Contains(err.Error(), "did you mean enable-dlq?") {
		t.Errorf("enable-dql: %v", err)
	}
	// enable-dlq is the loader's (it becomes consumer.dlq); given to the
	// binder otherwise, the error names that key.
	err = decodeKey("consumer", "enableDlq", true)
	if err == nil || !strings.Contains(err.Error(), "consumer.dlq") || strings.Contains(err.Error(), "unknown key") {
		t.Errorf("enable-dlq reaching the binder: %v", err)
	}
}
