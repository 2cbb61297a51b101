package config

import (
	"reflect"
	"strings"
	"testing"
)

// spring_profiles_active=dev and
// spring_cloud_stream_bindings_uppercasein0_destination=lower were
// ignored: only upper-case variables were read. Spring Boot reads them
// (its SystemEnvironmentPropertyMapper lower-cases each element of a
// variable's name; SystemEnvironmentPropertySource finds
// spring.profiles.active as spring_profiles_active): read as their
// upper-case spelling, which wins when both are set, the lower-case one
// next, their origin the name as set. Other lower-case variables
// (http_proxy) stay ignored.
func TestLowerCaseVariables(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.properties": "spring.cloud.function.definition=uppercase\n" +
			"spring.cloud.stream.bindings.uppercase-in-0.destination=base\nhttp.proxy=fromfile\n",
		"application-dev.properties": "spring.cloud.stream.bindings.uppercase-in-0.group=dev\n",
	})
	l := mustLoad(t, Options{Dir: dir, Env: []string{
		"spring_profiles_active=dev",
		"spring_cloud_stream_bindings_uppercasein0_destination=lower",
		"http_proxy=fromenv",
	}})
	if !reflect.DeepEqual(l.Profiles, []string{"dev"}) {
		t.Errorf("profiles %q, want [dev]", l.Profiles)
	}
	b := l.Stream.Binding("uppercase-in-0")
	if b.Destination != "lower" || b.Group != "dev" {
		t.Errorf("destination %q, group %q; want lower, dev", b.Destination, b.Group)
	}
	if o := l.Stream.Origins["stream.bindings.uppercase-in-0.destination"]; o != "env spring_cloud_stream_bindings_uppercasein0_destination" {
		t.Errorf("origin %q", o)
	}
	if p := l.Raw["http"].(map[string]any)["proxy"]; p != "fromfile" {
		t.Errorf("http.proxy = %v: a lower-case variable of another prefix was read", p)
	}

	// One variable in several cases: the upper-case spelling, else the
	// lower-case one, else the least name; whatever the order given.
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"stream_bindings_uppercase_in_0_group=lower", "STREAM_BINDINGS_UPPERCASE_IN_0_GROUP=UPPER", "Stream_Bindings_Uppercase_In_0_Group=Mixed"}, "UPPER"},
		{[]string{"Stream_Bindings_Uppercase_In_0_Group=Mixed", "stream_bindings_uppercase_in_0_group=lower"}, "lower"},
		{[]string{"Stream_bindings_uppercase_in_0_group=m2", "Stream_Bindings_Uppercase_In_0_Group=m1"}, "m1"},
	} {
		for _, env := range [][]string{tc.env, reversed(tc.env)} {
			l := mustLoad(t, Options{Dir: dir, Env: env})
			if g := l.Stream.Binding("uppercase-in-0").Group; g != tc.want {
				t.Errorf("%q: group %q, want %q", env, g, tc.want)
			}
		}
	}

	// A misspelt one is reported by the name set.
	es := configErrors(t, Options{Dir: dir, Env: []string{"stream_default_consumer_max_atempts=3"}})
	if len(es) != 1 || es[0].Origin != "env stream_default_consumer_max_atempts" ||
		!strings.HasPrefix(es[0].Msg, "stream_default_consumer_max_atempts matches no configuration key") {
		t.Errorf("got %v", es)
	}
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
