package config

import (
	"strings"
	"testing"
)

// A profile key's placeholder that cannot be resolved is one problem, at
// the key, where the profiles are activated: the merged tree's
// resolution reported it a second time (at spring.profiles and at
// spring.profiles.active), sometimes with another message (${p} with p a
// list: "no configuration key p" beside "the key p holds a list").
func TestProfileKeyPlaceholderReportedOnce(t *testing.T) {
	for _, c := range []struct {
		name, app string
		env       []string
		path, msg string
	}{
		{"active unset", "spring.profiles.active: ${NOPE}\n", nil, "spring.profiles.active", "environment variable NOPE is not set"},
		{"active, a list", "p: [dev, x]\nspring.profiles.active: ${p}\n", nil, "spring.profiles.active", "placeholder ${p}: the key p holds a list, not a value"},
		{"active, cycle", "spring.profiles.active: ${P}\n", []string{"P=${Q}", "Q=${P}"}, "spring.profiles.active", "placeholder cycle: env P → env Q → env P"},
		{"active, itself", "spring.profiles.active: ${spring.profiles.active}\n", nil, "spring.profiles.active", "placeholder cycle: spring.profiles.active → spring.profiles.active"},
		{"active, a profile's key", "spring.profiles.active: ${q}\n---\nspring.config.activate.on-profile: dev\nq: dev\n", nil, "spring.profiles.active", "InactiveConfigDataAccessException"},
		{"active, list item", "spring.profiles.active: [dev, '${NOPE}']\n", nil, "spring.profiles.active", "environment variable NOPE is not set"},
		{"include", "spring.profiles.include: ${NOPE}\n", nil, "spring.profiles.include", "environment variable NOPE is not set"},
		{"default", "spring.profiles.default: ${NOPE}\n", nil, "spring.profiles.default", "environment variable NOPE is not set"},
		{"group", "spring.profiles.active: prod\nspring.profiles.group.prod: ${NOPE}\n", nil, "spring.profiles.group.prod", "environment variable NOPE is not set"},
	} {
		dir := writeFiles(t, map[string]string{"application.yaml": c.app, "application-dev.yaml": "a: 1\n"})
		es := configErrors(t, Options{Dir: dir, Env: append([]string{}, c.env...)})
		if len(es) != 1 || es[0].Path != c.path || !strings.Contains(es[0].Msg, c.msg) {
			t.Errorf("%s: %d problems %v; want one at %s: %s", c.name, len(es), es, c.path, c.msg)
		}
	}
	// A default is taken where the key holds a list (Spring finds no
	// property p beside p[0]).
	dir := writeFiles(t, map[string]string{"application.yaml": "p: [x]\nspring.profiles.active: ${p:dev}\n", "application-dev.yaml": "a: 1\n"})
	if l := mustLoad(t, Options{Dir: dir, Logger: discard, Env: []string{}}); strings.Join(l.Profiles, ",") != "dev" {
		t.Errorf("${p:dev} beside p: [x]: profiles %v", l.Profiles)
	}
}
