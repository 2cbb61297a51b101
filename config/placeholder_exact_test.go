package config

import (
	"strings"
	"testing"
)

// As Spring Boot's ConfigurationPropertySourcesPropertyResolver: a
// placeholder name that is not a Spring property name (lower case, digits
// and '-' between dots) is looked up by its exact name, in the
// environment with the names SystemEnvironmentPropertySource tries, and
// in the files as they spell their keys; it is never lower-cased to match
// a key. ${PORT:9000} beside port: 1 is 9000, as in Spring Boot; it was 1.
func TestPlaceholderNotAPropertyNameIsExact(t *testing.T) {
	raw := func(t *testing.T, yaml string, env ...string) map[string]any {
		t.Helper()
		return mustLoad(t, Options{Data: []byte(yaml), Env: env, Logger: discard}).Raw
	}
	base := "port: 1\nmyapp:\n  retries: 4\na: ${PORT:9000}\nb: ${myApp.retries:none}\nc: ${my-app.retries}\nd: ${port}\n"
	r := raw(t, base)
	for k, want := range map[string]string{"a": "9000", "b": "none", "c": "4", "d": "1"} {
		if r[k] != want {
			t.Errorf("%s = %v, want %s (%s)", k, r[k], want, base)
		}
	}
	// The variable, when set; a name with '.' or '-' as Spring's
	// SystemEnvironmentPropertySource reads it (my.Var: MY_VAR).
	r = raw(t, base+"e: ${my.Var:none}\n", "PORT=7", "MY_VAR=v")
	if r["a"] != "7" || r["e"] != "v" {
		t.Errorf("a = %v, e = %v; want the variables' 7 and v", r["a"], r["e"])
	}
	// A key spelled exactly as the name (a .env file imported as
	// properties, or a file's upper-case key) is found.
	r = raw(t, "PORT: 5\nMyKey: k\na: ${PORT:9000}\nb: ${MyKey}\n")
	if r["a"] != "5" || r["b"] != "k" {
		t.Errorf("a = %v, b = %v; want 5 and k (keys spelled as the names)", r["a"], r["b"])
	}
	// Without a default: not set, and the message says why the key that
	// matches it relaxed is not taken, and what to write.
	es := configErrors(t, Options{Data: []byte("port: 1\nx: ${Port}\ny: ${myApp.retries}\nmyapp:\n  retries: 4\n")})
	if len(es) != 2 {
		t.Fatalf("want 2 problems, got %v", es)
	}
	for _, e := range es {
		if !strings.Contains(e.Msg, "is looked up by its exact name") {
			t.Errorf("%s: %s", e.Path, e.Msg)
		}
	}
	if !strings.Contains(es[0].Msg+es[1].Msg, "write ${port} for the key") || !strings.Contains(es[0].Msg+es[1].Msg, "write ${myapp.retries} for the key") {
		t.Errorf("the fixes are not named: %v", es)
	}
}

func TestSpringPropertyName(t *testing.T) {
	for name, want := range map[string]bool{
		"server.port": true, "my-app.url": true, "a[0].b": true, "map[Some.Key]": true, "random.int(10)": false,
		"a1.b-2": true, "PORT": false, "DATABASE_URL": false, "myApp.url": false, "a..b": true,
		".a": false, "a.": false, "a[0": false, "-a": false, "1a": true, "a.-b": false, "a._": true,
	} {
		if got := springPropertyName(name); got != want {
			t.Errorf("springPropertyName(%q) = %v, want %v", name, got, want)
		}
	}
	if got := strings.Join(springEnvNames("my.app-x"), " "); got != "my.app-x my_app-x my.app_x my_app_x MY.APP-X MY_APP-X MY.APP_X MY_APP_X" {
		t.Errorf("springEnvNames = %s", got)
	}
}
