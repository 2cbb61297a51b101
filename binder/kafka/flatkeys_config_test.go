package kafka

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// TestProfileConfigFlatKeyWins: the profile's .properties file sets
// configuration.max.poll.records (nested keys in the tree) over the base
// YAML's configuration: {max.poll.records: 5} (one dotted key), for the
// binder and for a binding; the binder takes the profile's 7, as Spring
// Boot does (one property; the profile file ranks higher). It read both
// keys in sorted order and took the base file's 5.
func TestProfileConfigFlatKeyWins(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"application.yaml": envBase + `      kafka:
        binder:
          configuration: {max.poll.records: 5}
        bindings:
          enrich-in-0:
            consumer:
              configuration: {"[fetch.min.bytes]": 5}
`,
		"application-p.properties": "spring.cloud.stream.kafka.binder.configuration.max.poll.records=7\n" +
			"spring.cloud.stream.kafka.bindings.enrich-in-0.consumer.configuration.fetch.min.bytes=7\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := config.Load(config.Options{Dir: dir, Profiles: []string{"p"}, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := parseSettings(stream.BinderSettingsOf(l.Stream, Type))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.consumerProps.maxPollRecords; !got.set || got.v != 7 {
		t.Errorf("binder max.poll.records = %+v, want the profile's 7", got)
	}
	cons, _ := l.Stream.Extension(Type, "enrich-in-0")
	c, err := decodeConsumer(&st, "enrich-in-0", cons)
	if err != nil {
		t.Fatal(err)
	}
	if c.batchSize != 7 || c.minBytes != 7 {
		t.Errorf("consumer: batch size %d, min bytes %d; want the profile's 7 and 7", c.batchSize, c.minBytes)
	}
}
