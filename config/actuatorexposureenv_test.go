package config

import (
	"log/slog"
	"reflect"
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
