package config

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/streambind/streambind/redact"
)

// A secret that a placeholder put into a key that is not a secret's
// (max-attempts: ${DB_PASSWORD}) was shown in full by the problem with the
// value ("got "hunter2"; value from ${DB_PASSWORD}"), and by whatever
// printed the tree: redaction went by the key only (config breaker trial).
func TestSecretPlaceholderValuesHidden(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `stream.function.definition: process
stream.bindings.process-in-0.consumer.max-attempts: "${DB_PASSWORD}"
stream.bindings.process-in-0.consumer.concurrency: "${MY_TOKEN:tok3n-default}"
stream.bindings.process-in-0.group: "g-${db.pass}"
db.pass: "${spring.rabbitmq.password}"
spring.rabbitmq:
  password: p4ssw0rd-lit
  port: ${RABBIT_PASSWORD}
  host: ${RABBIT_HOST}
myapp.size: ${DB_PASSWORD}
`})
	env := []string{"DB_PASSWORD=hunter2", "RABBIT_PASSWORD=S3cr3t-pw", "RABBIT_HOST=rabbit.local"}
	l, err := Load(Options{Dir: dir, Env: env})
	if err == nil {
		t.Fatal("Load: no error")
	}
	var all strings.Builder
	all.WriteString(err.Error())
	for _, w := range l.Warnings {
		all.WriteString(w.Error())
	}
	for _, leak := range []string{"hunter2", "tok3n-default", "S3cr3t-pw"} {
		if strings.Contains(all.String(), leak) {
			t.Errorf("the problems show %q: %v", leak, all.String())
		}
	}
	if !strings.Contains(err.Error(), `got "******"; value from ${DB_PASSWORD}`) {
		t.Errorf("the problem with max-attempts does not say what it is: %v", err)
	}
	for _, p := range []string{
		"stream.bindings.process-in-0.consumer.max-attempts",
		"stream.bindings.process-in-0.consumer.concurrency", // the default of a secret's placeholder
		"stream.bindings.process-in-0.group",                // through a key a secret's placeholder filled
		"db.pass",                                           // a secret key's value
		"spring.rabbitmq.port",
	} {
		if !l.SecretPaths[p] {
			t.Errorf("%s is not in SecretPaths %v", p, l.SecretPaths)
		}
	}
	if l.SecretPaths["spring.rabbitmq.host"] {
		t.Error("spring.rabbitmq.host (${RABBIT_HOST}) is taken for a secret")
	}
	shown, jerr := json.Marshal(l.Redacted())
	if jerr != nil {
		t.Fatal(jerr)
	}
	for _, leak := range []string{"hunter2", "tok3n-default", "S3cr3t-pw", "p4ssw0rd-lit"} {
		if strings.Contains(string(shown), leak) {
			t.Errorf("Redacted shows %q: %s", leak, shown)
		}
	}
	if !strings.Contains(string(shown), "rabbit.local") {
		t.Errorf("Redacted hides the host: %s", shown)
	}
	// The host:port made of spring.rabbitmq.port.
	if a := l.Stream.ConnectionDefaults["rabbit"]["addresses"]; a != "rabbit.local:S3cr3t-pw" {
		t.Fatalf("addresses %v", a)
	} else if got := l.Secrets.String(a.(string)); got != "rabbit.local:"+redact.Redacted {
		t.Errorf("addresses shown as %q", got)
	}
	// An application's own section, decoded.
	var own struct {
		Size int `mapstructure:"size"`
	}
	if err := l.Decode("myapp", &own); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Decode: %v", err)
	}
}
