package main

import (
	"strings"
	"testing"
)

// A secret variable's value holding a placeholder that cannot be resolved
// (DB_PASSWORD='p${:Kq9zSecret}w', referred to by a key, directly or
// through another variable) was quoted by the problem config and lint
// print; they now say only that the secret's value has such a placeholder.
func TestConfigSecretEnvPlaceholderNotShown(t *testing.T) {
	dir := writeFiles(t, map[string]string{"svc/application.yaml": `spring.cloud.function.definition: process
spring.cloud.stream.bindings.process-in-0: {destination: d, group: g}
myapp.db-password: ${DB_PASSWORD}
myapp.dest: ${DEST}
`})
	for _, env := range [][]string{
		{"DB_PASSWORD=p${:Kq9zSecret}w", "DEST=${DB_PASSWORD}"},
		{"DB_PASSWORD=p${Kq9zSecret}w", "DEST=${DB_PASSWORD}"},
	} {
		for _, args := range [][]string{{"config", "svc"}, {"config", "--format", "json", "svc"}, {"lint", "svc"}} {
			r := runIn(t, dir, env, args...)
			out := r.stdout + r.stderr
			if strings.Contains(out, "Kq9z") {
				t.Errorf("%v %v shows the secret's contents:\n%s", env, args, out)
			}
			if !strings.Contains(out, "DB_PASSWORD (a secret, not shown) has a placeholder that cannot be resolved") {
				t.Errorf("%v %v does not say what is wrong:\n%s", env, args, out)
			}
		}
	}
}
