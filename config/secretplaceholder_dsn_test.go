package config

import (
	"encoding/json"
	"strings"
	"testing"
)

// A placeholder of a DSN (${PG_DSN:postgres://root@127.0.0.1:5432/test})
// registered its whole text as a secret value, and Values hides a start
// of one cut short: the plain value "postgres" (consumer.idempotency.store)
// was shown as ******. Only the DSN's password is a secret value; it is
// still hidden wherever it lands.
func TestSecretPlaceholderDSNRegistersOnlyThePassword(t *testing.T) {
	const yaml = `stream.function.definition: process
stream.bindings.process-in-0:
  group: g
  consumer.idempotency:
    store: postgres
    key-expression: headers['id']
idempotency.postgres.dsn: ${PG_DSN:%s}
myapp.copy: ${idempotency.postgres.dsn}
stream.bindings.process-in-0.consumer.max-attempts: ${PG_DSN:%s}
`
	for _, tc := range []struct{ dsn, password string }{
		{"postgres://root@127.0.0.1:5432/test?sslmode=disable", ""},
		{"postgres://root:hunter2pw@127.0.0.1:5432/test?sslmode=disable", "hunter2pw"},
		{"host=127.0.0.1 user=postgres password=hunter2pw dbname=test", "hunter2pw"},
	} {
		dir := writeFiles(t, map[string]string{"application.yaml": strings.ReplaceAll(yaml, "%s", tc.dsn)})
		l, err := Load(Options{Dir: dir})
		if l == nil {
			t.Fatalf("%s: Load: %v", tc.dsn, err)
		}
		for _, plain := range []string{"postgres", "root", "127.0.0.1", "test"} {
			if l.Secrets.Contains(plain) {
				t.Errorf("%s: %q is taken for a secret value", tc.dsn, plain)
			}
		}
		shown, jerr := json.Marshal(l.Redacted())
		if jerr != nil {
			t.Fatal(jerr)
		}
		if !strings.Contains(string(shown), `"store":"postgres"`) {
			t.Errorf("%s: the store is not shown: %s", tc.dsn, shown)
		}
		if tc.password == "" {
			continue
		}
		if !l.Secrets.Contains(tc.password) {
			t.Errorf("%s: the password is not a secret value", tc.dsn)
		}
		if strings.Contains(string(shown), tc.password) {
			t.Errorf("%s: the tree shows the password: %s", tc.dsn, shown)
		}
		// max-attempts is no number: the problem quotes the value.
		if err == nil || strings.Contains(err.Error(), tc.password) || !strings.Contains(err.Error(), "max-attempts") {
			t.Errorf("%s: Load's error shows the password, or there is none: %v", tc.dsn, err)
		}
		if got := l.Secrets.String("connect failed: password " + tc.password + " refused"); strings.Contains(got, tc.password) {
			t.Errorf("%s: a message shows the password: %s", tc.dsn, got)
		}
	}
}

// A DSN from a configuration tree (a mounted Secret, file
// idempotency/postgres/dsn) registers its password, not its whole text.
func TestConfigTreeDSNRegistersOnlyThePassword(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"tree/idempotency/postgres/dsn": "postgres://root:hunter2pw@127.0.0.1:5432/test\n",
		"application.yaml": `spring.config.import: configtree:tree/
stream.function.definition: process
stream.bindings.process-in-0:
  group: g
  consumer.idempotency.store: postgres
`,
	})
	l := mustLoad(t, Options{Dir: dir})
	if l.Secrets.Contains("postgres") || !l.Secrets.Contains("hunter2pw") {
		t.Errorf(`Secrets.Contains: "postgres" %t (want false), "hunter2pw" %t (want true)`, l.Secrets.Contains("postgres"), l.Secrets.Contains("hunter2pw"))
	}
}
