package config

import (
	"os"
	"path/filepath"
	"testing"
)

// Spring Boot resolves ${KAFKA_BROKERS} in every property source, the
// files included: the usual .env file imported as properties
// (spring.config.import: optional:file:.env[.properties]) gives the values
// of upper-case placeholders. The environment still wins over it.
func TestUpperCasePlaceholderFromAnImportedDotEnv(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("application.yml", "spring:\n  config:\n    import: optional:file:.env[.properties]\n  cloud:\n    function:\n      definition: uppercase\n    stream:\n      kafka:\n        binder:\n          brokers: ${KAFKA_BROKERS}\n      bindings:\n        uppercase-in-0:\n          destination: ${IN_TOPIC:in}\n          group: ${GROUP:g}\n  rabbitmq:\n    addresses: amqp://u:${RABBIT_PASSWORD}@r1:5672\n")
	write(".env", "KAFKA_BROKERS=k1:9092\nIN_TOPIC=from-dotenv\nGROUP=from-dotenv\nRABBIT_PASSWORD=s3cr3t-pw\n")

	l := mustLoad(t, Options{Dir: dir, Logger: discard, Env: []string{"GROUP=from-env"}})
	b := l.Stream.Binding("uppercase-in-0")
	if b.Destination != "from-dotenv" || b.Group != "from-env" {
		t.Errorf("destination %q group %q, want from-dotenv (the .env file's) and from-env (the environment wins)", b.Destination, b.Group)
	}
	kafka, _ := l.Raw["stream"].(map[string]any)["kafka"].(map[string]any)
	binder, _ := kafka["binder"].(map[string]any)
	if got := binder["brokers"]; got != "k1:9092" {
		t.Errorf("brokers %v, want k1:9092", got)
	}
	if !l.Secrets.Contains("s3cr3t-pw") {
		t.Error("a secret the .env file gave through a placeholder is not hidden")
	}
}
