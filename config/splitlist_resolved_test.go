package config

import (
	"strings"
	"testing"
)

// Spring Boot resolves a list's placeholders first and then splits the
// resolved String at every comma (IndexedElementsBinder.convert), so
// spring.config.import: 'a,\${X:b,c}' is three locations: a, ${X:b and c}
// (the escape gives the text "${X:b,c}"). The resolved text of an import
// was split on the commas outside "${...}" again: two (a, ${X:b,c}).
// Profile keys and spring.config.location already split so.
func TestListSplitAfterResolution(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": "spring.config.import: 'optional:a.yaml,optional:\\${X:b.yaml,optional:c.yaml}'\n",
		"a.yaml":           "a: 1\n",
	})
	_, err := Load(Options{Dir: dir, Logger: discard, Env: []string{}})
	if err == nil || !strings.Contains(err.Error(), `"optional:c.yaml}"`) || strings.Contains(err.Error(), "optional:${X") {
		t.Errorf("import: %v; want the three locations, the last one refused alone", err)
	}

	// A placeholder's default holding a comma list: split once resolved.
	dir = writeFiles(t, map[string]string{
		"application.yaml": "spring.config.import: 'optional:a.yaml,${X:optional:b.yaml,optional:c.yaml}'\n",
		"a.yaml":           "a: 1\n", "b.yaml": "b: 1\n", "c.yaml": "c: 1\n",
	})
	l := mustLoad(t, Options{Dir: dir, Logger: discard, Env: []string{}})
	for _, k := range []string{"a", "b", "c"} {
		if l.Raw[k] != 1 {
			t.Errorf("%s not imported: %v", k, l.Raw)
		}
	}
}
