package config

import (
	"reflect"
	"strings"
	"testing"
)

// spring.profiles.group.<name> was refused: an SCSt application that
// activates "production" and groups proddb and prodmq under it did not
// load. As in Spring Boot, a group's members become active after it,
// whatever activated it, and their files load.
func TestProfileGroupActivatesItsMembers(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "spring:\n  profiles:\n    group:\n      production: [proddb, prodmq]\n" +
			"stream.bindings.x-in-0.group: base\n",
		"application-proddb.yaml": "stream.bindings.x-in-0.group: from-proddb\nstream.bindings.x-in-0.destination: db\n",
		"application-prodmq.yaml": "stream.bindings.x-in-0.group: from-prodmq\n",
	})
	for how, opts := range map[string]Options{
		"Options.Profiles":       {Dir: dir, Profiles: []string{"production"}},
		"SPRING_PROFILES_ACTIVE": {Dir: dir, Env: []string{"SPRING_PROFILES_ACTIVE=production"}},
		"STREAM_PROFILES_ACTIVE": {Dir: dir, Env: []string{"STREAM_PROFILES_ACTIVE=production"}},
	} {
		l := mustLoad(t, opts)
		if want := []string{"production", "proddb", "prodmq"}; !reflect.DeepEqual(l.Profiles, want) {
			t.Errorf("%s: profiles %q, want %q", how, l.Profiles, want)
		}
		b := l.Stream.Binding("x-in-0")
		if b.Group != "from-prodmq" || b.Destination != "db" {
			t.Errorf("%s: group %q, destination %q", how, b.Group, b.Destination)
		}
		if o := l.Stream.Origins["stream.bindings.x-in-0.destination"]; o != "application-proddb.yaml:2" {
			t.Errorf("%s: origin %q", how, o)
		}
		// "production" has no file, but names a group: no warning.
		if len(l.Warnings) != 0 {
			t.Errorf("%s: warnings %v", how, l.Warnings)
		}
	}
}

// Groups activated by spring.profiles.active and .include of the files,
// dotted and comma-separated, nested groups depth first, cycles and a
// group naming itself ending; a .properties file's indexed list.
func TestProfileGroupSourcesAndOrder(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.properties": "spring.profiles.active=prod\nspring.profiles.include=common\n" +
			"spring.profiles.group.prod[0]=prod\nspring.profiles.group.prod[1]=db\nspring.profiles.group.prod[2]=mq\n" +
			"spring.profiles.group.db=dbcreds, prod\nspring.profiles.group.common=logs\n",
		"application-db.yaml":      "a.db: 1\n",
		"application-dbcreds.yaml": "a.dbcreds: 1\n",
		"application-mq.yaml":      "a.mq: 1\n",
		"application-logs.yaml":    "a.logs: 1\n",
	})
	l := mustLoad(t, Options{Dir: dir})
	if want := []string{"common", "logs", "prod", "db", "dbcreds", "mq"}; !reflect.DeepEqual(l.Profiles, want) {
		t.Errorf("profiles %q, want %q", l.Profiles, want)
	}
	a, _ := l.Raw["a"].(map[string]any)
	if len(a) != 4 {
		t.Errorf("a: %v", a)
	}
	// "prod" names a group but has no file; "common" too: no warning,
	// even with RequireProfileFiles.
	if len(l.Warnings) != 0 {
		t.Errorf("warnings %v", l.Warnings)
	}
	mustLoad(t, Options{Dir: dir, RequireProfileFiles: true})
}

// A member with no file is warned about at the group's key and line, as
// an active profile with none is at spring.profiles.active's.
func TestProfileGroupMemberWithoutFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "a: 1\nspring.profiles.group.production: proddb\n",
	})
	l := mustLoad(t, Options{Dir: dir, Profiles: []string{"production"}})
	if len(l.Warnings) != 1 || l.Warnings[0].Path != "spring.profiles.group.production" || l.Warnings[0].Origin != "application.yaml:2" ||
		!strings.Contains(l.Warnings[0].Msg, `profile "proddb" is active but matches no configuration: no profile file`) {
		t.Errorf("warnings %v", l.Warnings)
	}
	es := configErrors(t, Options{Dir: dir, Profiles: []string{"production"}, RequireProfileFiles: true})
	if len(es) != 1 || !strings.Contains(es[0].Error(), "application-proddb.yaml") {
		t.Errorf("got %v", es)
	}
}

// The documents a member activates apply; the default profiles' groups
// expand too (Spring Boot expands both); a group's members load only
// while it is active.
func TestProfileGroupDocumentsAndDefaults(t *testing.T) {
	yaml := "spring.profiles.group:\n  default: [local]\n  production: [proddb]\nv: base\n" +
		"---\nspring.config.activate.on-profile: proddb\nv: proddb\n" +
		"---\nspring.config.activate.on-profile: local\nv: local\n"
	for _, tc := range []struct {
		profiles []string
		want     string
		active   []string
	}{
		{[]string{"production"}, "proddb", []string{"production", "proddb"}},
		{nil, "local", nil}, // default → local, neither "active"
		{[]string{"other"}, "base", []string{"other"}},
	} {
		opts := Options{Data: []byte(yaml), Profiles: tc.profiles}
		if tc.profiles == nil {
			opts.Profiles = nil
		}
		l := mustLoad(t, opts)
		if l.Raw["v"] != tc.want || !reflect.DeepEqual(l.Profiles, tc.active) {
			t.Errorf("profiles %q: v=%v, active %q", tc.profiles, l.Raw["v"], l.Profiles)
		}
	}
}

// As in Spring Boot (InvalidConfigDataPropertyException), a group cannot
// be defined in a profile-specific file or document: the groups decide
// which of those are read.
func TestProfileGroupRefusedInProfileSpecificFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml":     "a: 1\n",
		"application-dev.yaml": "b: 1\nspring.profiles.group.dev: extra\n",
	})
	es := configErrors(t, Options{Dir: dir, Profiles: []string{"dev"}})
	if len(es) != 1 || !strings.HasPrefix(es[0].Error(), "application-dev.yaml:2: spring.profiles.group cannot be set in a profile-specific file") {
		t.Errorf("got %v", es)
	}
	es = configErrors(t, Options{Data: []byte("spring.profiles.group.prod: {eu: a}\n")})
	if len(es) != 1 || !strings.Contains(es[0].Error(), "application.yaml:1: spring.profiles.group.prod: expected a comma-separated string or a list") {
		t.Errorf("got %v", es)
	}
	es = configErrors(t, Options{Data: []byte("spring.profiles.group.prod: ../x\n"), Profiles: []string{"prod"}})
	if len(es) != 1 || !strings.Contains(es[0].Error(), "invalid profile name") {
		t.Errorf("got %v", es)
	}
}

// SPRING_PROFILES_GROUP_<NAME> defines a group, over the files' list of
// the same group (relaxed), as Spring Boot binds the environment.
func TestProfileGroupFromEnvironment(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml":   "spring.profiles.group.prod-eu: [a]\n",
		"application-a.yaml": "a: 1\n",
		"application-b.yaml": "b: 1\n",
		"application-c.yaml": "c: 1\n",
	})
	l := mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_PROFILES_ACTIVE=prod-eu,local", "SPRING_PROFILES_GROUP_PROD_EU=b", "SPRING_PROFILES_GROUP_LOCAL=c"}})
	if want := []string{"prod-eu", "b", "local", "c"}; !reflect.DeepEqual(l.Profiles, want) {
		t.Errorf("profiles %q, want %q", l.Profiles, want)
	}
	if l.Raw["a"] != nil || l.Raw["b"] != 1 || l.Raw["c"] != 1 {
		t.Errorf("raw %v", l.Raw)
	}
}
