package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{
		"maxAttempts":            "max-attempts",
		"max-attempts":           "max-attempts",
		"backOffInitialInterval": "back-off-initial-interval",
		"sslCAFile":              "ssl-ca-file",
		"HTTPServer":             "http-server",
		"ID":                     "id",
		"partition2Count":        "partition2-count",
		"snake_case":             "snake_case",
		"":                       "",
	} {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%q) = %q, want %q", in, got, want)
		}
	}
	if got := freeKey("bootstrap.Servers"); got != "bootstrap.servers" {
		t.Errorf("freeKey kept no dots: %q", got)
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"concurrency", "max-attempts", "dlq", "back-off-multiplier"}
	for in, want := range map[string]string{
		"max-attemps":        "max-attempts",
		"maxAttempt":         "max-attempts",
		"concurency":         "concurrency",
		"dlz":                "dlq",
		"backoff-multiplyer": "back-off-multiplier",
		"colour":             "",
		"x":                  "",
	} {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExpandPlaceholders(t *testing.T) {
	env := map[string]string{"A": "1", "B": "2"}
	for _, tc := range []struct {
		in, want string
		probs    int
	}{
		{"${A}${B}", "12", 0},
		{"x${C:${A}:${B}}y", "x1:2y", 0},
		{"${C}", "", 1},
		{"${C}-${D}", "-", 2},
		{"${", "${", 0},
		{"${}", "${}", 1},
		{"${A", "${A", 0},
		{"}${A}{", "}1{", 0},
		{"${${A}}", "${${A}}", 1},
		{"$", "$", 0},
	} {
		got, probs := expandPlaceholders(tc.in, env)
		if got != tc.want || len(probs) != tc.probs {
			t.Errorf("expandPlaceholders(%q) = %q, %q; want %q and %d problems", tc.in, got, probs, tc.want, tc.probs)
		}
	}
}

func TestEnvTokensAndFunctionBindings(t *testing.T) {
	if got := envTokens("chargePayment-in-0"); !reflect.DeepEqual(got, []string{"CHARGEPAYMENT", "IN", "0"}) {
		t.Errorf("envTokens = %q", got)
	}
	got := functionBindings(" a ; b|c ;; D")
	if want := []string{"a-in-0", "a-out-0", "b|c-in-0", "b|c-out-0", "D-in-0", "D-out-0"}; !reflect.DeepEqual(got, want) { // in the case of the definition
		t.Errorf("functionBindings = %q, want %q", got, want)
	}
}

// TestSchemaCoversConfig makes sure every field of stream.Config has a
// schema the decoder supports, so that a new field cannot slip through.
func TestSchemaCoversConfig(t *testing.T) {
	var walk func(s *schema, path string)
	walk = func(s *schema, path string) {
		switch s.kind {
		case kindStruct:
			for _, f := range s.fields {
				walk(f.s, path+"."+f.key)
			}
			if s.remain != nil {
				walk(s.remain.s, path+".<type>")
			}
		case kindNames:
			walk(s.elem, path+".<name>")
		case kindLeaf:
			switch k := s.typ.Kind(); {
			case s.typ == durationType, k == reflect.String, k == reflect.Int, k == reflect.Float64, k == reflect.Bool,
				k == reflect.Pointer && s.typ.Elem().Kind() == reflect.Bool,
				k == reflect.Slice && s.typ.Elem().Kind() == reflect.String,
				k == reflect.Slice && s.typ.Elem().Kind() == reflect.Int,
				k == reflect.Slice && s.typ.Elem() == durationType:
			default:
				t.Errorf("%s: Go type %s is not supported by the decoder", path, s.typ)
			}
		}
	}
	walk(configSchema(), "stream")
}

func TestConversions(t *testing.T) {
	type res struct {
		v   any
		err bool
	}
	conv := map[string]func(any) (any, error){
		"int":      func(v any) (any, error) { return toInt(v) },
		"float":    func(v any) (any, error) { return toFloat(v) },
		"bool":     func(v any) (any, error) { return toBool(v) },
		"string":   func(v any) (any, error) { return toString(v) },
		"duration": func(v any) (any, error) { return toDuration(v) },
	}
	for _, tc := range []struct {
		conv string
		in   any
		want res
	}{
		{"int", 5, res{5, false}},
		{"int", int64(-5), res{-5, false}},
		{"int", uint64(1) << 63, res{nil, true}},
		{"int", "42", res{42, false}},
		{"int", "4x", res{nil, true}},
		{"int", "99999999999999999999", res{nil, true}},
		{"int", 1.0, res{1, false}}, // a whole number written as a float
		{"int", 1.5, res{nil, true}},
		{"int", true, res{nil, true}},
		{"float", 1.5, res{1.5, false}},
		{"float", 2, res{2.0, false}},
		{"float", int64(3), res{3.0, false}},
		{"float", uint64(4), res{4.0, false}},
		{"float", "2.5", res{2.5, false}},
		{"float", "NaN", res{nil, true}},
		{"float", "+Inf", res{nil, true}},
		{"float", "x", res{nil, true}},
		{"float", []any{}, res{nil, true}},
		{"bool", true, res{true, false}},
		{"bool", "FALSE", res{false, false}},
		{"bool", "yes", res{true, false}}, // Spring's StringToBooleanConverter
		{"bool", "maybe", res{nil, true}},
		{"bool", 1, res{nil, true}},
		{"string", "s", res{"s", false}},
		{"string", 12, res{"12", false}},
		{"string", uint64(1) << 63, res{"9223372036854775808", false}},
		{"string", 1.25, res{"1.25", false}},
		{"string", false, res{"false", false}},
		{"string", map[string]any{}, res{nil, true}},
		{"duration", 250, res{250 * time.Millisecond, false}},
		{"duration", int64(-1), res{-time.Millisecond, false}},
		{"duration", uint64(1) << 63, res{nil, true}},
		{"duration", "9223372036855", res{nil, true}},
		{"duration", "2h", res{2 * time.Hour, false}},
		{"duration", "", res{nil, true}},
		{"duration", true, res{nil, true}},
	} {
		got, err := conv[tc.conv](tc.in)
		if (err != nil) != tc.want.err || (!tc.want.err && got != tc.want.v) {
			t.Errorf("%s(%#v) = %#v, %v; want %#v (error %v)", tc.conv, tc.in, got, err, tc.want.v, tc.want.err)
		}
	}
}

func TestFreeFormMaps(t *testing.T) {
	yaml := `stream:
  binders:
    k:
      type: kafka
      environment:
        bootstrap.Servers: a
        saslConfig: { userName: u }
        listeners: [ { hostName: h, port: 1 }, plain ]
  kafka:
    binder:
      configuration: { max.poll.records: 5 }
`
	l := mustLoad(t, Options{Data: []byte(yaml)})
	env := l.Stream.Binders["k"].Environment
	want := map[string]any{
		"bootstrap.servers": "a",
		// Property names are kebab-case; the keys of the maps below them
		// are kept as written (they may be map keys).
		"sasl-config": map[string]any{"userName": "u"},
		"listeners":   []any{map[string]any{"host-name": "h", "port": 1}, "plain"},
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("environment = %#v\nwant %#v", env, want)
	}
	if got := l.Stream.Extensions["kafka"].Binder["configuration"]; !reflect.DeepEqual(got, map[string]any{"max.poll.records": 5}) {
		t.Errorf("configuration = %#v", got)
	}
	if got := l.Stream.Origins["stream.binders.k.environment.listeners[0].host-name"]; got != "application.yaml:8" {
		t.Errorf("origin of a list item's key = %q", got)
	}

	es := configErrors(t, Options{Data: []byte("stream:\n  binders:\n    k:\n      type: kafka\n      environment:\n        list: [ { a: 1, A: 2 } ]\n")})
	if len(es) != 1 || es[0].Path != "stream.binders.k.environment.list[0].a" || !strings.Contains(es[0].Msg, "duplicate key") {
		t.Errorf("got %v", es)
	}
}

func TestOriginOf(t *testing.T) {
	origins := map[string]string{
		"stream.default.consumer.max-attempts": "a.yaml:1",
		"stream.bindings.x-in-0.consumer":      "a.yaml:2",
		"stream.bindings.y-in-0":               "a.yaml:3",
		"stream":                               "a.yaml:4",
		"other.list":                           "a.yaml:5",
	}
	for path, want := range map[string]string{
		"stream.default.consumer.max-attempts":         "a.yaml:1",
		"stream.bindings.x-in-0.consumer.max-attempts": "a.yaml:1", // from stream.default
		"stream.bindings.x-in-0.consumer.concurrency":  "a.yaml:2", // enclosing key
		"stream.bindings.y-in-0.producer.poller":       "a.yaml:3",
		"stream.shutdown-timeout":                      "", // not the bare root
		"other.list[3]":                                "a.yaml:5",
		"nothing":                                      "",
	} {
		if got := originOf(origins, path); got != want {
			t.Errorf("originOf(%q) = %q, want %q", path, got, want)
		}
	}
}
