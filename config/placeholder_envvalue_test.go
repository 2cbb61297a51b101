package config

import (
	"strings"
	"testing"
)

// The value of an environment variable that a placeholder stands for has
// its own placeholders resolved, as Spring's PlaceholderParser resolves a
// placeholder's value in turn (SimplePlaceholderPart.resolveToText),
// whatever property source gave it, the environment included: with the
// same defaults, escapes and cycle detection as a file's values. It was
// taken as it was: destination: ${P} with P=${Q}, Q=q gave the
// destination "${Q}", and a cycle through variables was no error.
func TestPlaceholderInEnvValueResolved(t *testing.T) {
	base := []byte("stream:\n  bindings:\n    orders-out-0:\n      binder: kafka\n")
	dest := "SPRING_CLOUD_STREAM_BINDINGS_ORDERS_OUT_0_DESTINATION="
	for _, c := range []struct {
		data []byte
		env  []string
		want string
	}{
		// A variable's own value (already resolved before this fix).
		{base, []string{"ENV_PREFIX=dev", dest + "${ENV_PREFIX}-orders"}, "dev-orders"},
		{base, []string{"spring.cloud.stream.bindings.orders-out-0.destination=${ENV_PREFIX:x}-orders"}, "x-orders"},
		{base, []string{dest + `\${ENV_PREFIX}-orders`, "ENV_PREFIX=dev"}, "${ENV_PREFIX}-orders"},
		// A variable a placeholder names, whose value holds placeholders.
		{base, []string{dest + "${A}", "A=${B}-x", "B=b"}, "b-x"},
		{base, []string{dest + "${A}", "A=${B:dflt}-x"}, "dflt-x"},
		{base, []string{dest + "${A}", `A=\${B}-x`, "B=b"}, "${B}-x"},
		{[]byte("stream:\n  bindings:\n    orders-out-0:\n      destination: ${P}\n"), []string{"P=${Q}", "Q=q"}, "q"},
		{[]byte("stream:\n  bindings:\n    orders-out-0:\n      destination: ${app.prefix}-o\n"), []string{"APP_PREFIX=${ENV_PREFIX}", "ENV_PREFIX=prod"}, "prod-o"},
		{[]byte("app.prefix: fromfile\nstream:\n  bindings:\n    orders-out-0:\n      destination: ${P}\n"), []string{"P=${app.prefix}"}, "fromfile"},
	} {
		l := mustLoad(t, Options{Data: c.data, Logger: discard, Env: c.env})
		if got := l.Stream.Binding("orders-out-0").Destination; got != c.want {
			t.Errorf("%v: destination %q, want %q", c.env, got, c.want)
		}
	}

	for _, c := range []struct {
		data       []byte
		env        []string
		path, want string
	}{
		{base, []string{dest + "${A}", "A=${B}-x", "B=${A}"}, "stream.bindings.orders-out-0.destination", "placeholder cycle: env A → env B → env A"},
		{[]byte("stream:\n  bindings:\n    orders-out-0:\n      destination: ${stream.bindings.orders-out-0.group}\n"),
			[]string{"STREAM_BINDINGS_ORDERS_OUT_0_GROUP=${stream.bindings.orders-out-0.destination}"},
			"stream.bindings.orders-out-0.destination", "placeholder cycle: stream.bindings.orders-out-0.destination → env STREAM_BINDINGS_ORDERS_OUT_0_GROUP → stream.bindings.orders-out-0.destination"},
		{base, []string{dest + "${A}", "A=${NOPE}"}, "stream.bindings.orders-out-0.destination", "in the value of environment variable A (placeholder ${A}): environment variable NOPE is not set"},
	} {
		es := configErrors(t, Options{Data: c.data, Env: c.env})
		if len(es) != 1 || es[0].Path != c.path || !strings.Contains(es[0].Msg, c.want) {
			t.Errorf("%v: %v; want one problem at %s: %s", c.env, es, c.path, c.want)
		}
	}

	// A secret a variable's placeholder names stays hidden where it lands.
	l := mustLoad(t, Options{Data: []byte("app:\n  note: ${A}\n"), Logger: discard, Env: []string{"A=${DB_PASSWORD}", "DB_PASSWORD=hunter2hunter2"}})
	if !l.Secrets.Contains("hunter2hunter2") {
		t.Errorf("the password reached app.note through A is not a secret")
	}

	// A location's placeholder: the variable's value resolved too.
	dir := writeFiles(t, map[string]string{"application.yaml": "spring.config.import: ${CONF}\n", "extra.yaml": "app:\n  x: imported\n"})
	l = mustLoad(t, Options{Dir: dir, Logger: discard, Env: []string{"CONF=${BASE}/extra.yaml", "BASE=" + dir}})
	if x := l.Raw["app"].(map[string]any)["x"]; x != "imported" {
		t.Errorf("import through CONF=${BASE}/extra.yaml: app.x = %v", x)
	}

	// The environment-only lookups (a section's variables, profile
	// names, locations) resolve a variable's value in turn too.
	if got, probs := expandPlaceholders("${A}", map[string]string{"A": "${B}-x", "B": "b"}); got != "b-x" || len(probs) != 0 {
		t.Errorf("expandPlaceholders: %q %q, want b-x", got, probs)
	}
	if _, probs := expandPlaceholders("${A}", map[string]string{"A": "${B}", "B": "${A}"}); len(probs) != 1 || !strings.Contains(probs[0], "placeholder cycle: env A → env B → env A; set env A or env B to a value without a placeholder") {
		t.Errorf("expandPlaceholders cycle: %q", probs)
	}
}
