package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A problem names its key as the configuration wrote it where it was set
// (ConfigError.Key, shown by Error), so that an SCSt team finds it in its
// file: the spring.cloud.stream root, relaxed spellings, a .properties
// line's key, the stream.default key a value came from. Path keeps the
// canonical spelling, which programs match on; a variable's origin names
// the variable, and its problem is as before.
func TestProblemNamesKeyAsWritten(t *testing.T) {
	const head = "spring.cloud.function.definition: process\n"
	cases := []struct {
		name      string
		file      string // application.yaml, or .properties
		data      string
		env       []string
		path, key string // want: Path, Key ("" for none)
		origin    string
		text      string // want: Error's text
	}{
		{"yaml nested spring root camelCase", "application.yaml",
			"spring:\n  cloud:\n    stream:\n      function:\n        definition: process\n      bindings:\n        process-in-0:\n          destination: orders\n          group: g\n          consumer:\n            maxAttempts: lots\n",
			nil, "stream.bindings.process-in-0.consumer.max-attempts", "spring.cloud.stream.bindings.process-in-0.consumer.maxAttempts", "application.yaml:11",
			`spring.cloud.stream.bindings.process-in-0.consumer.maxAttempts (application.yaml:11): expected an integer, got "lots"`},
		{"yaml flat dotted snake_case", "application.yaml",
			head + "spring.cloud.stream.bindings.process-in-0.destination: orders\nspring.cloud.stream.bindings.process-in-0.consumer.max_attempts: lots\n",
			nil, "stream.bindings.process-in-0.consumer.max-attempts", "spring.cloud.stream.bindings.process-in-0.consumer.max_attempts", "application.yaml:3", ""},
		{"yaml partly dotted", "application.yaml",
			head + "spring.cloud.stream.bindings:\n  process-in-0.destination: orders\n  process-in-0.consumer:\n    backOffInitialInterval: soon\n",
			nil, "stream.bindings.process-in-0.consumer.back-off-initial-interval", "spring.cloud.stream.bindings.process-in-0.consumer.backOffInitialInterval", "application.yaml:5", ""},
		{"yaml stream root camelCase", "application.yaml",
			head + "stream:\n  bindings:\n    process-in-0:\n      destination: orders\n      consumer:\n        maxAttempts: lots\n",
			nil, "stream.bindings.process-in-0.consumer.max-attempts", "stream.bindings.process-in-0.consumer.maxAttempts", "application.yaml:7", ""},
		{"yaml canonical: no key", "application.yaml",
			head + "stream:\n  bindings:\n    process-in-0:\n      destination: orders\n      consumer:\n        max-attempts: lots\n",
			nil, "stream.bindings.process-in-0.consumer.max-attempts", "", "application.yaml:7",
			`stream.bindings.process-in-0.consumer.max-attempts (application.yaml:7): expected an integer, got "lots"`},
		{"yaml unknown key", "application.yaml",
			head + "spring.cloud.stream.bindings.process-in-0.consumer.maxAtempts: 3\n",
			nil, "stream.bindings.process-in-0.consumer.max-atempts", "spring.cloud.stream.bindings.process-in-0.consumer.maxAtempts", "application.yaml:2", ""},
		{"default section", "application.yaml",
			"spring:\n  cloud:\n    function.definition: process\n    stream:\n      default:\n        consumer:\n          backOffMultiplier: 0.5\n      bindings.process-in-0.destination: orders\n",
			nil, "stream.default.consumer.back-off-multiplier", "spring.cloud.stream.default.consumer.backOffMultiplier", "application.yaml:7",
			"spring.cloud.stream.default.consumer.backOffMultiplier (application.yaml:7): must be at least 1.0, got 0.5"},
		{"properties camelCase", "application.properties",
			"spring.cloud.function.definition=process\nspring.cloud.stream.bindings.process-in-0.destination=orders\nspring.cloud.stream.bindings.process-in-0.consumer.maxAttempts=lots\n",
			nil, "stream.bindings.process-in-0.consumer.max-attempts", "spring.cloud.stream.bindings.process-in-0.consumer.maxAttempts", "application.properties:3",
			`spring.cloud.stream.bindings.process-in-0.consumer.maxAttempts (application.properties:3): expected an integer, got "lots"`},
		{"properties snake_case default", "application.properties",
			"spring.cloud.function.definition=process\nspring.cloud.stream.default.consumer.back_off_multiplier=0.5\n",
			nil, "stream.default.consumer.back-off-multiplier", "spring.cloud.stream.default.consumer.back_off_multiplier", "application.properties:2", ""},
		{"env variable: as before", "application.yaml",
			head + "spring.cloud.stream.bindings.process-in-0.consumer.maxAttempts: 3\n",
			[]string{"SPRING_CLOUD_STREAM_BINDINGS_PROCESSIN0_CONSUMER_MAXATTEMPTS=lots"},
			"stream.bindings.process-in-0.consumer.max-attempts", "", "env SPRING_CLOUD_STREAM_BINDINGS_PROCESSIN0_CONSUMER_MAXATTEMPTS",
			`stream.bindings.process-in-0.consumer.max-attempts (env SPRING_CLOUD_STREAM_BINDINGS_PROCESSIN0_CONSUMER_MAXATTEMPTS): expected an integer, got "lots"`},
		{"a later file's canonical key", "application.yaml",
			head + "spring.cloud.stream.bindings.process-in-0.consumer.maxAttempts: 3\n---\nstream.bindings.process-in-0.consumer.max-attempts: lots\n",
			nil, "stream.bindings.process-in-0.consumer.max-attempts", "", "application.yaml:4", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, c.file), []byte(c.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(Options{Dir: dir, Logger: discard, Env: append([]string{}, c.env...)})
			var errs stream.ConfigErrors
			if !errors.As(err, &errs) {
				t.Fatalf("want problems, got %v", err)
			}
			var e *stream.ConfigError
			for _, x := range errs {
				if x.Path == c.path {
					e = x
				}
			}
			if e == nil {
				t.Fatalf("no problem at %s: %v", c.path, err)
			}
			if e.Key != c.key || e.Origin != c.origin {
				t.Errorf("key %q origin %q, want %q %q", e.Key, e.Origin, c.key, c.origin)
			}
			want := c.key
			if want == "" {
				want = c.path
			}
			if !strings.HasPrefix(e.Error(), want+" ("+c.origin+"): ") {
				t.Errorf("text %q, want it to start with %s (%s)", e.Error(), want, c.origin)
			}
			if c.text != "" && e.Error() != c.text {
				t.Errorf("text %q\n want %q", e.Error(), c.text)
			}
		})
	}
}

// A binder setting read from Spring Boot's namespace (spring.rabbitmq.*)
// has the origin of the Boot key, which names that key as written, for
// lint and config to show.
func TestBootKeyOriginAsWritten(t *testing.T) {
	l := mustLoad(t, Options{Logger: discard, Env: []string{},
		Data: []byte("spring:\n  rabbitmq:\n    virtualHost: orders\n    host: h\n")})
	for k, want := range map[string]string{
		"stream.rabbit.binder.virtual-host": "application.yaml:3 (spring.rabbitmq.virtualHost)",
		"stream.rabbit.binder.addresses":    "application.yaml:4 (spring.rabbitmq.host)",
	} {
		if got := l.Stream.Origins[k]; got != want {
			t.Errorf("origin of %s: %q, want %q", k, got, want)
		}
	}
}

// An application's own section decoded with Decode, and a problem the
// program reports with Problem, name the key as the file wrote it too.
func TestDecodeProblemKeyAsWritten(t *testing.T) {
	l := mustLoad(t, Options{Logger: discard, Env: []string{},
		Data: []byte("myApp:\n  db:\n    maxConns: lots\n    pool_size: 500\n")})
	var v struct {
		DB struct {
			MaxConns int `mapstructure:"max-conns"`
			PoolSize int `mapstructure:"pool-size"`
		} `mapstructure:"db"`
	}
	err := l.Decode("myapp", &v)
	var errs stream.ConfigErrors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Key != "myApp.db.maxConns" || errs[0].Origin != "application.yaml:3" {
		t.Fatalf("Decode: %v (%+v)", err, errs)
	}
	if e := l.Problem("myapp.db.pool-size", "at most 100"); e.Key != "myApp.db.pool_size" || e.Error() != "myApp.db.pool_size (application.yaml:4): at most 100" {
		t.Errorf("Problem: %q (%+v)", e.Error(), e)
	}
}
