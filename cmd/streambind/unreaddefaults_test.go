package main

import (
	"strings"
	"testing"
)

// A service ported from Spring Boot keeps its application.yaml beside the
// file SPRING_CONFIG_NAME names: Boot reads only the named one, and so
// does streambind. lint said nothing of the file left unread, and config's
// header listed the files read but not what chose them.
func TestUnreadApplicationFileNamed(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"svc/application.yaml":        "stream:\n  default-binder: memory\n  bindings:\n    work-in-0: {group: g}\n",
		"svc/config/application.yml":  "stream:\n  bindings:\n    work-in-0: {group: h}\n",
		"svc/orders.yaml":             "stream:\n  default-binder: memory\n",
		"svc/config/orders.yaml":      "stream:\n  bindings:\n    work-in-0: {group: o}\n",
		"plain/application.yaml":      "stream:\n  default-binder: memory\n",
		"plain/config/unrelated.yaml": "x: 1\n",
	})
	const want = "warning: not read: the files looked for are orders.yaml, orders.yml or orders.properties (env SPRING_CONFIG_NAME)"
	r := runIn(t, dir, []string{"SPRING_CONFIG_NAME=orders"}, "lint", "svc")
	out := r.stdout + r.stderr
	if r.code != exitOK || !strings.Contains(out, "svc/application.yaml: "+want) || !strings.Contains(out, "svc/config/application.yml: "+want) {
		t.Errorf("SPRING_CONFIG_NAME=orders: exit %d\n%s", r.code, out)
	}
	r = runIn(t, dir, []string{"SPRING_CONFIG_NAME=orders"}, "lint", "--strict", "svc")
	if r.code == exitOK {
		t.Errorf("--strict passes with a file left unread:\n%s", r.stdout+r.stderr)
	}
	r = runIn(t, dir, []string{"SPRING_CONFIG_NAME=orders"}, "config", "svc")
	if !strings.Contains(r.stdout, "# files read, later ones winning: svc/orders.yaml, svc/config/orders.yaml\n# files looked for: orders.yaml, orders.yml or orders.properties (env SPRING_CONFIG_NAME) in ./, config/ or config/*/ (default locations)\n") {
		t.Errorf("config header:\n%s%s", r.stdout, r.stderr)
	}
	// Read (the name includes application), or the default search: no
	// word, and no extra header line.
	for _, env := range [][]string{{"SPRING_CONFIG_NAME=application,orders"}, nil} {
		r = runIn(t, dir, env, "lint", "svc")
		if strings.Contains(r.stdout+r.stderr, "not read") {
			t.Errorf("%v: %s", env, r.stdout+r.stderr)
		}
	}
	r = runIn(t, dir, nil, "config", "plain")
	if strings.Contains(r.stdout, "files looked for") || !strings.Contains(r.stdout, "# files read, later ones winning: plain/application.yaml\n") {
		t.Errorf("default search's header:\n%s", r.stdout)
	}
}
