package main

import (
	"strings"
	"testing"
)

// A profile named by a placeholder of a secret (spring.profiles.active:
// ${S} with S='${DB_PASSWORD}') was printed as it is by `streambind
// config` ("# active profiles: hunter2zz") and `streambind graph`
// ("profiles": ["hunter2zz"]), where the loader's own messages hide it.
func TestProfileFromSecretPlaceholderHidden(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"svc/application.yaml": "stream:\n  function:\n    definition: work\n  bindings:\n    work-in-0: { destination: in, group: g }\nspring.profiles.active: ${S}\n",
	})
	env := []string{"S=${DB_PASSWORD}", "DB_PASSWORD=hunter2zz"}
	for _, args := range [][]string{{"config", "svc"}, {"config", "--format", "json", "svc"}, {"lint", "svc"}, {"graph", "svc"}, {"graph", "--format", "json", "svc"}} {
		r := runIn(t, dir, env, args...)
		if strings.Contains(r.stdout+r.stderr, "hunter2zz") {
			t.Errorf("streambind %s prints the secret:\n%s%s", strings.Join(args, " "), r.stdout, r.stderr)
		}
	}
	if r := runIn(t, dir, env, "config", "svc"); !strings.HasPrefix(r.stdout, "# active profiles: ******\n") {
		t.Errorf("config header: %.80q", r.stdout)
	}
}
