package config

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/streambind/streambind/management"
)

// An exposure list given item by item in the environment
// (MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE_0, Spring Boot's spelling of
// include[0]) is read as Spring Boot binds it, with or without the list in
// a file (whose list it replaces): without one it was refused ("takes a
// value, not keys"), as the key was known only as a value.
func TestActuatorExposureListItemsFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        []string
		include    []string
		exclude    []string
	}{
		{"items", "x: 1\n", []string{"MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE_0=health", "MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE_1=prometheus",
			"MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_EXCLUDE_0_=info"}, []string{"health", "prometheus"}, []string{"info"}},
		{"items over a file's list", "management.endpoints.web.exposure.include: [info, bindings]\n",
			[]string{"MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE_0=health"}, []string{"health"}, nil},
		{"items over a file's text", "management.endpoints.web.exposure.include: info,bindings\n",
			[]string{"MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE_0=health"}, []string{"health"}, nil},
		{"the whole list still", "x: 1\n", []string{"MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE=health,prometheus"}, []string{"health", "prometheus"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := mustLoad(t, Options{Data: []byte(tc.yaml), Env: tc.env, Logger: slog.New(slog.DiscardHandler)})
			c, err := management.ConfigFrom(l.Raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Include, tc.include) || !reflect.DeepEqual(c.Exclude, tc.exclude) {
				t.Errorf("include %q, exclude %q; want %q, %q", c.Include, c.Exclude, tc.include, tc.exclude)
			}
		})
	}
}

// A path mapping from the environment joins the files' map however the
// files spell it (Spring Boot's pathMapping): it made a second map beside
// the file's, which package config did not check, so that a bad or
// clashing mapping in the file was reported by package management without
// its file and line.
func TestActuatorPathMappingEnvJoinsFileSpelling(t *testing.T) {
	es := configErrors(t, Options{Data: []byte("management:\n  endpoints:\n    web:\n      pathMapping:\n        health: hc\n"),
		Env: []string{"MANAGEMENT_ENDPOINTS_WEB_PATHMAPPING_INFO=hc"}})
	want := "/actuator/hc would be the path of both"
	if len(es) != 1 || !strings.Contains(es[0].Error(), want) {
		t.Fatalf("got %v, want one problem: %s", es, want)
	}
	l := mustLoad(t, Options{Data: []byte("management.endpoints.web.pathMapping.health: hc\n"),
		Env: []string{"MANAGEMENT_ENDPOINTS_WEB_PATHMAPPING_INFO=information", "MANAGEMENT_ENDPOINTS_WEB_PATHMAPPING_HEALTH=check"}, Logger: slog.New(slog.DiscardHandler)})
	c, err := management.ConfigFrom(l.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"health": "/check", "info": "/information"}; !reflect.DeepEqual(c.PathMapping, want) {
		t.Errorf("path mapping %v, want %v", c.PathMapping, want)
	}
}
