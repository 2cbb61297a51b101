package config

import (
	"strings"
	"testing"
)

// The placeholders of the profile keys are resolved as Spring Boot binds
// them (ConfigDataEnvironment.withProfiles, through
// ConfigDataEnvironmentContributorPlaceholdersResolver): from the
// environment (SystemEnvironmentPropertySource: ${x} is the variable x or
// X, ${app.profile} APP_PROFILE), then the keys of the documents loaded so
// far, whichever source gave the value (SPRING_PROFILES_ACTIVE='${P}' as
// a file's), the value split on its commas once resolved. It looked only
// for a variable of the exact name, in the files' values only: ${x} with
// a key x: or a variable X was an error, SPRING_PROFILES_ACTIVE='${P}'
// activated a profile named "${P}".
func TestProfileKeysPlaceholdersResolved(t *testing.T) {
	prof := map[string]string{
		"application-dev.yaml":   "stream:\n  default-binder: kafka\n",
		"application-extra.yaml": "app:\n  extra: true\n",
	}
	with := func(app string) string {
		files := map[string]string{"application.yaml": app}
		for k, v := range prof {
			files[k] = v
		}
		return writeFiles(t, files)
	}
	active := with("spring:\n  profiles:\n    active: ${x}\n")
	for _, c := range []struct {
		name     string
		dir      string
		env      []string
		profiles string
	}{
		{"key of the file", with("x: dev\nspring:\n  profiles:\n    active: ${x}\n"), nil, "dev"},
		{"key of the file, property name", with("app:\n  profile: dev,extra\nspring.profiles.active: ${app.profile}\n"), nil, "dev|extra"},
		{"upper-case variable for ${x}", active, []string{"X=dev"}, "dev"},
		{"variable x", active, []string{"x=dev"}, "dev"},
		{"variable of a property name", with("spring.profiles.active: ${app.profile}\n"), []string{"APP_PROFILE=dev"}, "dev"},
		{"variable's value resolved", active, []string{"X=${Y}", "Y=dev"}, "dev"},
		{"SPRING_PROFILES_ACTIVE's placeholder", with("a: 1\n"), []string{"SPRING_PROFILES_ACTIVE=${P}", "P=dev"}, "dev"},
		{"SPRING_PROFILES_ACTIVE's default split after", with("a: 1\n"), []string{"SPRING_PROFILES_ACTIVE=${P:dev,extra}"}, "dev|extra"},
		{"SPRING_PROFILES_ACTIVE from a file's key", with("p: dev\n"), []string{"SPRING_PROFILES_ACTIVE=${p}"}, "dev"},
		{"include", with("inc: extra\nspring.profiles.include: ${inc}\nspring.profiles.active: dev\n"), nil, "extra|dev"},
		{"group from the environment", with("a: 1\n"), []string{"SPRING_PROFILES_ACTIVE=prod", "SPRING_PROFILES_GROUP_PROD=${M}", "M=dev"}, "prod|dev"},
	} {
		l, err := Load(Options{Dir: c.dir, Logger: discard, Env: append([]string{}, c.env...)})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := strings.Join(l.Profiles, "|"); got != c.profiles {
			t.Errorf("%s: profiles %q, want %q", c.name, got, c.profiles)
		}
		if strings.Contains(c.profiles, "dev") && l.Stream.DefaultBinder != "kafka" {
			t.Errorf("%s: application-dev.yaml not applied (default-binder %q)", c.name, l.Stream.DefaultBinder)
		}
	}

	// The default profiles' placeholders too (SPRING_PROFILES_DEFAULT).
	l := mustLoad(t, Options{Dir: with("a: 1\n"), Logger: discard, Env: []string{"SPRING_PROFILES_DEFAULT=${D}", "D=dev"}})
	if len(l.Profiles) != 0 || l.Stream.DefaultBinder != "kafka" {
		t.Errorf("SPRING_PROFILES_DEFAULT=${D}: profiles %v, default-binder %q; want none active and application-dev.yaml applied", l.Profiles, l.Stream.DefaultBinder)
	}

	// Unset: an error at the key, saying what was looked for (once: see
	// TestProfileKeyPlaceholderReportedOnce).
	es := configErrors(t, Options{Dir: active})
	if es[0].Path != "spring.profiles.active" || !strings.Contains(es[0].Msg, "placeholder ${x}: no configuration key x and no environment variable X is set") {
		t.Errorf("unset ${x}: %v", es)
	}
	// A key of a document a profile activates cannot activate profiles,
	// as Spring Boot refuses it (InactiveConfigDataAccessException).
	es = configErrors(t, Options{Dir: with("spring.profiles.active: ${x}\n---\nspring.config.activate.on-profile: dev\nx: dev\n")})
	if es[0].Path != "spring.profiles.active" || !strings.Contains(es[0].Msg, "InactiveConfigDataAccessException") {
		t.Errorf("${x} from a profile's document: %v", es)
	}
}
