package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A variable named as a key that chooses the profiles or the files
// (spring.profiles.active=prod, as a docker-compose file or a Kubernetes
// manifest sets it) is read as Spring Boot reads the system environment:
// SpringConfigurationPropertySource's SYSTEM_ENVIRONMENT_MAPPERS,
// SystemEnvironmentPropertyMapper (SPRING_PROFILES_ACTIVE) then
// DefaultPropertyMapper (spring.profiles.active), the upper-case variable
// winning when both are set. It was only warned about and ignored.
func TestDottedSelectionVariables(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"application.yaml":        "spring.profiles.group.g: grp\n",
		"application-prod.yaml":   "app: { prod: true }\n",
		"application-up.yaml":     "app: { up: true }\n",
		"application-inc.yaml":    "app: { inc: true }\n",
		"application-dflt.yaml":   "app: { dflt: true }\n",
		"application-grp.yaml":    "app: { grp: true }\n",
		"application-member.yaml": "app: { member: true }\n",
		"conf/application.yaml":   "app: { located: true }\n",
		"more/application.yaml":   "app: { additional: true }\n",
		"named/orders.yaml":       "app: { named: true }\n",
		"extra.yaml":              "app: { imported: true }\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	profiles := func(env ...string) (string, *Loaded) {
		t.Helper()
		l, err := Load(Options{Dir: dir, Logger: discard, Env: env})
		if err != nil {
			t.Errorf("%v: %v", env, err)
			return "", nil
		}
		return strings.Join(l.Profiles, ","), l
	}
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"spring.profiles.active=prod"}, "prod"},
		{[]string{"spring.profiles.active=prod", "SPRING_PROFILES_ACTIVE=up"}, "up"},
		{[]string{"spring.profiles.active=${P}", "P=prod"}, "prod"},
		{[]string{"spring.profiles.active=prod", "spring.profiles.include=inc"}, "inc,prod"},
		{[]string{"SPRING_PROFILES_INCLUDE=inc"}, "inc"},
		{[]string{"spring.profiles.active=g"}, "g,grp"},
		{[]string{"spring.profiles.active=prod", "spring.profiles.group.prod=member"}, "prod,member"},
		{[]string{"spring.profiles.active=prod", "spring.profiles.group.prod=member", "SPRING_PROFILES_GROUP_PROD=grp"}, "prod,grp"},
	} {
		if got, _ := profiles(c.env...); got != c.want {
			t.Errorf("%v: profiles %q, want %q", c.env, got, c.want)
		}
	}
	app := func(l *Loaded) map[string]any {
		if l == nil {
			return nil
		}
		m, _ := l.Raw["app"].(map[string]any)
		return m
	}
	if _, l := profiles("spring.profiles.default=dflt"); app(l)["dflt"] != true {
		t.Errorf("spring.profiles.default=dflt: app %v", app(l))
	}
	if _, l := profiles("spring.profiles.default=dflt", "SPRING_PROFILES_DEFAULT=up"); app(l)["up"] != true || app(l)["dflt"] != nil {
		t.Errorf("SPRING_PROFILES_DEFAULT over spring.profiles.default: app %v", app(l))
	}
	if _, l := profiles("spring.config.location=file:conf/"); app(l)["located"] != true {
		t.Errorf("spring.config.location: app %v", app(l))
	}
	if _, l := profiles("spring.config.additional-location=file:more/"); app(l)["additional"] != true {
		t.Errorf("spring.config.additional-location: app %v", app(l))
	}
	if _, l := profiles("spring.config.name=orders", "spring.config.location=file:named/"); app(l)["named"] != true {
		t.Errorf("spring.config.name: app %v", app(l))
	}
	if _, l := profiles("spring.config.import=file:extra.yaml"); app(l)["imported"] != true {
		t.Errorf("spring.config.import: app %v", app(l))
	}
	if _, l := profiles("spring.config.location=file:named/", "SPRING_CONFIG_LOCATION=file:conf/"); app(l)["located"] != true || app(l)["named"] != nil {
		t.Errorf("SPRING_CONFIG_LOCATION over spring.config.location: app %v", app(l))
	}
	if _, l := profiles("spring.profiles.active=prod"); l != nil {
		for _, w := range l.Warnings {
			if strings.Contains(w.Origin, "spring.profiles.active") {
				t.Errorf("spring.profiles.active=prod warned: %v", w)
			}
		}
	}
	// Spelt otherwise, Spring Boot does not read it: a warning still.
	_, l := profiles("Spring.Profiles.Active=prod")
	if l != nil && len(l.Profiles) != 0 {
		t.Errorf("Spring.Profiles.Active: profiles %v", l.Profiles)
	}
	warned := false
	for _, w := range l.Warnings {
		warned = warned || w.Origin == "env Spring.Profiles.Active"
	}
	if !warned {
		t.Errorf("Spring.Profiles.Active not warned: %v", l.Warnings)
	}
}
