package kafka

import (
	"maps"
	"strings"
	"testing"
)

// TestParseJAAS: the sasl.jaas.config forms Kafka accepts parse; broken
// ones are errors that never quote the text (it holds a password).
func TestParseJAAS(t *testing.T) {
	const pw = `pw"with;quote\and`
	for _, tc := range []struct {
		in     string
		module string
		opts   map[string]string
	}{
		{`org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="secret";`,
			plainModule, map[string]string{"username": "alice", "password": "secret"}},
		{"  " + scramModule + "\n  required\n  username=bob\tpassword=\"" + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(pw) + "\" ;  ",
			scramModule, map[string]string{"username": "bob", "password": pw}},
		{plainModule + ` optional;`, plainModule, map[string]string{}},
	} {
		module, opts, err := parseJAAS(tc.in)
		if err != nil || module != tc.module || !maps.Equal(opts, tc.opts) {
			t.Errorf("parseJAAS(%q) = %q, %v, %v; want %q, %v", tc.in, module, opts, err, tc.module, tc.opts)
		}
	}
	const secret = "Sup3rSecret"
	for _, in := range []string{
		``,
		plainModule,
		plainModule + ` required username="a" password="` + secret,
		plainModule + ` required username="a" password="` + secret + `"`,
		plainModule + ` required username="a" password="` + secret + `"; ` + scramModule + ` required;`,
		plainModule + ` mandatory password="` + secret + `";`,
		plainModule + ` required password ` + secret + `;`,
		plainModule + ` required password="` + secret + `" password="` + secret + `";`,
	} {
		_, _, err := parseJAAS(in)
		if err == nil {
			t.Errorf("parseJAAS(%q): want an error", in)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("parseJAAS(%q): the error shows the password: %v", in, err)
		}
	}
}

// TestWithDefaultPort: only brokers without a port get the default one.
func TestWithDefaultPort(t *testing.T) {
	got := withDefaultPort([]string{"a", "b:1", "[::1]", "[::1]:2", "10.0.0.1"}, 9092)
	want := []string{"a:9092", "b:1", "[::1]:9092", "[::1]:2", "10.0.0.1:9092"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v, want %v", got, want)
	}
}
