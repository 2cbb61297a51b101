package main

import (
	"strings"
	"testing"
)

// TestSecretImportLocationHiddenInLintAndGraph: the text a secret
// placeholder gave an import location (file:${DB_PASSWORD}.yaml) names a
// file; lint's and graph's problem locations, graph's file list and
// config's JSON origins hide it, as `streambind config` does
// (TestBreak2ConfigHidesSecretImportLocation).
func TestSecretImportLocationHiddenInLintAndGraph(t *testing.T) {
	const secret = "hunter2-x"
	dir := writeFiles(t, map[string]string{
		"application.yaml": "spring.cloud.function.definition: tick\n",
		secret + ".yaml":   "b: 2\nstream.bindings.tick-out-0.producer.partition-count: zero\n",
	})
	for _, args := range [][]string{{"config"}, {"lint"}, {"graph"}, {"graph", "--format", "json"}, {"config", "--format", "json"}, {"lint", "--format", "json"}, {"check"}} {
		r := runIn(t, dir, []string{"DB_PASSWORD=" + secret, "SPRING_CONFIG_IMPORT=file:${DB_PASSWORD}.yaml"}, args...)
		for _, line := range strings.Split(r.stdout+"\n"+r.stderr, "\n") {
			if strings.Contains(line, secret) {
				t.Errorf("%v: shown: %s", args, line)
			}
		}
	}
}
