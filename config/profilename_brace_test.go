package config

import (
	"strings"
	"testing"
)

// Since a "${" with no closing '}' is text (9cf88a0),
// spring.profiles.active: ${P named a profile "${P": start-up went on
// with a profile no file has (a warning), where the author meant a
// placeholder. Spring Boot 3.5 refuses such a name (profile names hold
// letters, digits, '-', '_' and '.'); so does the loader, saying why.
func TestProfileNameWithBraceRefused(t *testing.T) {
	for _, c := range []struct {
		app string
		env []string
	}{
		{"spring.profiles.active: ${P\n", nil},
		{"spring.profiles.active: dev,${P\n", nil},
		{"spring.profiles.include: ${P\n", nil},
		{"spring.profiles.default: ${P\n", nil},
		{"spring.profiles.active: prod\nspring.profiles.group.prod: ${P\n", nil},
		{"a: 1\n", []string{"SPRING_PROFILES_ACTIVE=${P"}},
		{"spring.profiles.active: '\\${P}'\n", nil},
	} {
		dir := writeFiles(t, map[string]string{"application.yaml": c.app, "application-dev.yaml": "a: 1\n", "application-prod.yaml": "a: 1\n"})
		es := configErrors(t, Options{Dir: dir, Env: append([]string{}, c.env...)})
		if len(es) != 1 || !strings.Contains(es[0].Msg, "a profile name cannot hold '$', '{' or '}'") {
			t.Errorf("%q %v: %v", c.app, c.env, es)
		}
	}
}
