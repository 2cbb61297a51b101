package config_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/config"
)

// TestPropertiesLoad writes every key config.Properties lists, in its
// canonical spelling and in its SCSt spelling, into an application.yaml:
// the loader must know every one of them (no "unknown key"), and must
// reject a key that is not listed.
func TestPropertiesLoad(t *testing.T) {
	props := config.Properties()
	if len(props) < 20 {
		t.Fatalf("only %d properties", len(props))
	}
	for _, p := range props {
		if p.Free || p.Type == nil {
			continue
		}
		for _, path := range []string{p.Path, p.SCSt} {
			y := yamlFor(path, sample(p.Type))
			_, err := config.Load(config.Options{Data: []byte(y), Env: []string{}})
			if err != nil && strings.Contains(err.Error(), "unknown key") {
				t.Errorf("%s: %v\n%s", path, err, y)
			}
		}
	}
	_, err := config.Load(config.Options{Data: []byte(yamlFor("stream.bindings.x-in-0.consumer.max-attempt", "3")), Env: []string{}})
	if err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("a key that is not listed loaded: %v", err)
	}
}

// TestPropertiesSCSt checks the SCSt spellings of a few keys.
func TestPropertiesSCSt(t *testing.T) {
	want := map[string]string{
		"stream.function.definition":                         "spring.cloud.function.definition",
		"stream.default-binder":                              "spring.cloud.stream.defaultBinder",
		"stream.bindings.<name>.consumer.max-attempts":       "spring.cloud.stream.bindings.<name>.consumer.maxAttempts",
		"stream.bindings.<name>.producer.poller.fixed-delay": "spring.cloud.stream.bindings.<name>.producer.poller.fixedDelay",
		"stream.<type>.bindings.<name>.consumer":             "spring.cloud.stream.<type>.bindings.<name>.consumer",
	}
	got := map[string]config.Property{}
	for _, p := range config.Properties() {
		got[p.Path] = p
	}
	for path, scst := range want {
		p, ok := got[path]
		if !ok {
			t.Errorf("%s is not listed", path)
			continue
		}
		if p.SCSt != scst {
			t.Errorf("%s: SCSt spelling %q, want %q", path, p.SCSt, scst)
		}
	}
	if a := got["stream.bindings.<name>.consumer.dlq"].Aliases; !reflect.DeepEqual(a, []string{"enable-dlq", "auto-bind-dlq"}) {
		t.Errorf("dlq aliases %v", a)
	}
	if p := got["stream.bindings.<name>.consumer.max-attempts"]; p.Struct == nil || p.Struct.Name() != "ConsumerConfig" || p.Field != "MaxAttempts" {
		t.Errorf("max-attempts: struct %v field %q", p.Struct, p.Field)
	}
}

// yamlFor nests a dotted key path (placeholders become names) over value.
func yamlFor(path, value string) string {
	var b strings.Builder
	for i, seg := range strings.Split(path, ".") {
		switch seg {
		case "<name>":
			seg = "x-in-0"
		case "<type>":
			seg = "kafka"
		}
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(strings.Repeat("  ", i) + seg + ":")
	}
	b.WriteString(" " + value + "\n")
	return b.String()
}

// sample is a valid-looking value of type t, as YAML.
func sample(t reflect.Type) string {
	if t == reflect.TypeOf(time.Duration(0)) {
		return "5s"
	}
	switch t.Kind() {
	case reflect.String:
		return "a"
	case reflect.Int:
		return "2"
	case reflect.Float64:
		return "2.5"
	case reflect.Bool, reflect.Pointer:
		return "true"
	case reflect.Slice:
		return "a,b"
	}
	panic(fmt.Sprintf("no sample for %s", t))
}
