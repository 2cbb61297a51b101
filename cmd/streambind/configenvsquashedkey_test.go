package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/internal/refgen"
)

// streambind config prints a binder-section key that a variable sets
// without its dashes (Spring Boot's documented form:
// ..._KAFKA_BINDER_MINPARTITIONCOUNT, ..._CONSUMER_STARTOFFSET) in the
// kebab-case spelling the binder documents, as a file's key is printed,
// with its variable as origin and its value typed as the app reads it.
// It printed minpartitioncount:, autocreatetopics:, startoffset:, keys
// that looked unknown though the binder applies them.
func TestConfigEnvSquashedBinderKey(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": "spring.cloud.function.definition: handleOrder\n" +
		"spring.cloud.stream.bindings.handleOrder-in-0: { destination: orders, group: g, binder: kafka }\n" +
		"spring.cloud.stream.rabbit.default.producer.routing-key: k\n"})
	env := []string{
		"SPRING_CLOUD_STREAM_KAFKA_BINDER_MINPARTITIONCOUNT=3",
		"SPRING_CLOUD_STREAM_KAFKA_BINDER_AUTOCREATETOPICS=false",
		"SPRING_CLOUD_STREAM_KAFKA_BINDINGS_HANDLEORDERIN0_CONSUMER_STARTOFFSET=earliest",
		"SPRING_CLOUD_STREAM_RABBIT_DEFAULT_PRODUCER_ROUTINGKEYEXPRESSION='x'",
	}
	r := runIn(t, dir, env, "config")
	for _, want := range []string{
		"      min-partition-count: 3 # env SPRING_CLOUD_STREAM_KAFKA_BINDER_MINPARTITIONCOUNT\n",
		"      auto-create-topics: false # env SPRING_CLOUD_STREAM_KAFKA_BINDER_AUTOCREATETOPICS\n",
		"          start-offset: earliest # env SPRING_CLOUD_STREAM_KAFKA_BINDINGS_HANDLEORDERIN0_CONSUMER_STARTOFFSET\n",
		"        routing-key-expression: '''x''' # env SPRING_CLOUD_STREAM_RABBIT_DEFAULT_PRODUCER_ROUTINGKEYEXPRESSION\n",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("exit %d, stderr %s, stdout:\n%s\nwant the line %q", r.code, r.stderr, r.stdout, want)
		}
	}
	for _, bad := range []string{"minpartitioncount", "autocreatetopics", "startoffset", "routingkeyexpression"} {
		if strings.Contains(r.stdout, bad+":") {
			t.Errorf("printed %s:\n%s", bad, r.stdout)
		}
	}
}

// binderkeys_gen.go is what go generate ./cmd/streambind writes from the
// binders' package docs.
func TestBinderKeysGenerated(t *testing.T) {
	want, err := refgen.BinderKeysGo(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("binderkeys_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("binderkeys_gen.go is out of date: run go generate ./cmd/streambind")
	}
}

// A map whose only key the loader ignored (a common property in a binder
// section: requiredGroups in a file, USENATIVEDECODING in a variable) is
// not printed: it printed as producer: {} # application.yaml:N and
// default: {} # env ..., as if something were set there.
func TestConfigIgnoredBinderKeyNoEmptyMap(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": "spring.cloud.function.definition: handleOrder\n" +
		"spring.cloud.stream.bindings.handleOrder-in-0: { destination: orders, group: g, binder: kafka }\n" +
		"spring.cloud.stream.rabbit.bindings.handleOrder-out-0.producer.requiredGroups: audit\n"})
	env := []string{"SPRING_CLOUD_STREAM_KAFKA_DEFAULT_CONSUMER_USENATIVEDECODING=true"}
	r := runIn(t, dir, env, "config")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "{} # application.yaml") || strings.Contains(line, "{} # env") {
			t.Errorf("printed an empty map left by an ignored key: %q\n%s", line, r.stdout)
		}
	}
}
