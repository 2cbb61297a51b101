package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// binderSection returns the map at stream.<path...> of the loaded tree.
func binderSection(t *testing.T, l *Loaded, path ...string) map[string]any {
	t.Helper()
	m, _ := l.Raw["stream"].(map[string]any)
	for _, k := range path {
		m, _ = m[k].(map[string]any)
	}
	if m == nil {
		t.Fatalf("no section stream.%s in %v", strings.Join(path, "."), l.Raw["stream"])
	}
	return m
}

// TestBinderAliasesFollowPrecedence: of two aliases of one binder setting
// (the Redis binder's max-length and maxlen), the one the source of higher
// precedence set is what the binder gets, as for two spellings of one key.
// Before, the section held both and the binder took whichever sorted last:
// a file's maxlen beat the environment's MAX_LENGTH.
func TestBinderAliasesFollowPrecedence(t *testing.T) {
	const file = `spring.cloud.stream:
  redis:
    binder: { maxlen: 500 }
    bindings:
      orders-in-0: { consumer: { max-deliver: 3 } }
`
	for _, tc := range []struct{ name, env string }{
		{"SPRING_CLOUD_STREAM_ form", "SPRING_CLOUD_STREAM_REDIS_BINDER_MAX_LENGTH=1000"},
		{"STREAM_ form", "STREAM_REDIS_BINDER_MAX_LENGTH=1000"},
		{"dotted name", "spring.cloud.stream.redis.binder.max-length=1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := loadApp(t, file, tc.env)
			b := binderSection(t, l, "redis", "binder")
			if _, ok := b["maxlen"]; ok || len(b) != 1 {
				t.Errorf("binder section %v: want the variable's key alone", b)
			}
			if _, ok := l.Stream.Origins["stream.redis.binder.maxlen"]; ok {
				t.Errorf("the dropped alias keeps its origin")
			}
		})
	}
	t.Run("binding section", func(t *testing.T) {
		l := loadApp(t, file, "SPRING_CLOUD_STREAM_REDIS_BINDINGS_ORDERS_IN_0_CONSUMER_MAX_DELIVERIES=7")
		c := binderSection(t, l, "redis", "bindings", "orders-in-0", "consumer")
		if len(c) != 1 || c["max-deliveries"] == nil {
			t.Errorf("consumer section %v: want max-deliveries alone", c)
		}
	})
	t.Run("command line over the environment", func(t *testing.T) {
		l := mustLoad(t, Options{Data: []byte(file), Env: []string{"STREAM_REDIS_BINDER_MAX_LENGTH=1000"},
			Args: []string{"--spring.cloud.stream.redis.binder.maxlen=2000"}})
		b := binderSection(t, l, "redis", "binder")
		if len(b) != 1 || b["maxlen"] == nil {
			t.Errorf("binder section %v: want the command line's maxlen alone", b)
		}
	})
	t.Run("a binder's environment", func(t *testing.T) {
		l := loadApp(t, `spring.cloud.stream.binders:
  cache: { type: redis, environment: { maxlen: 500 } }
`, "SPRING_CLOUD_STREAM_BINDERS_CACHE_ENVIRONMENT_MAX_LENGTH=1000")
		e := binderSection(t, l, "binders", "cache", "environment")
		if len(e) != 1 || e["max-length"] == nil {
			t.Errorf("environment %v: want max-length alone", e)
		}
	})
}

// TestBinderAliasesProfileOverBase: a profile file's alias wins over the
// base file's other alias, in both directions (before, the key that sorted
// last won, whichever file set it), and in a nested section.
func TestBinderAliasesProfileOverBase(t *testing.T) {
	for _, tc := range []struct{ base, profile, want string }{
		{"maxlen: 500", "max-length: 1000", "max-length"},
		{"max-length: 500", "maxlen: 1000", "maxlen"},
	} {
		dir := writeFiles(t, map[string]string{
			"application.yaml":     "spring.cloud.stream.redis.binder:\n  " + tc.base + "\n",
			"application-big.yaml": "spring.cloud.stream.redis.binder:\n  " + tc.profile + "\n",
		})
		l := mustLoad(t, Options{Dir: dir, Profiles: []string{"big"}})
		b := binderSection(t, l, "redis", "binder")
		if len(b) != 1 || b[tc.want] == nil {
			t.Errorf("%s then %s: binder section %v, want %s alone", tc.base, tc.profile, b, tc.want)
		}
		if o := l.Stream.Origins["stream.redis.binder."+tc.want]; !strings.HasPrefix(o, "application-big.yaml:") {
			t.Errorf("%s: origin %q", tc.want, o)
		}
	}
	dir := writeFiles(t, map[string]string{
		"application.yaml":     "spring.cloud.stream.nats.binder.stream:\n  max-msgs: 10\n  replicas: 1\n",
		"application-big.yaml": "spring.cloud.stream.nats.binder.stream:\n  maxMessages: 99\n",
	})
	l := mustLoad(t, Options{Dir: dir, Profiles: []string{"big"}})
	s := binderSection(t, l, "nats", "binder", "stream")
	if len(s) != 2 || s["maxMessages"] == nil || s["replicas"] == nil {
		t.Errorf("nats binder.stream %v: want maxMessages and replicas", s)
	}
}

// TestBinderAliasesOneSource: two aliases of one setting in one document
// (or two variables) are a problem naming both keys and where each was
// set; in two documents of one file, the later document's wins.
func TestBinderAliasesOneSource(t *testing.T) {
	_, err := Load(Options{Data: []byte(`spring.cloud.stream.redis.binder:
  maxlen: 500
  max-length: 1000
`), Env: []string{}})
	var ces stream.ConfigErrors
	if !errors.As(err, &ces) || len(ces) != 1 {
		t.Fatalf("want one problem, got %v", err)
	}
	e := ces[0]
	if e.Path != "stream.redis.binder.maxlen" || e.Origin != "application.yaml:2" ||
		!strings.Contains(e.Msg, "max-length (application.yaml:3)") || !strings.Contains(e.Msg, "keep one") {
		t.Errorf("problem: %s (path %s, origin %s, key %s)", e, e.Path, e.Origin, e.Key)
	}
	if e.Key != "spring.cloud.stream.redis.binder.maxlen" {
		t.Errorf("key as written: %q", e.Key)
	}

	_, err = Load(Options{Data: []byte("spring.cloud.stream.nats.bindings.x-in-0.consumer.max-deliver: 3\n"),
		Env: []string{"STREAM_NATS_BINDINGS_X_IN_0_CONSUMER_MAXDELIVER=4", "STREAM_NATS_BINDINGS_X_IN_0_CONSUMER_MAX_DELIVERIES=5"}})
	if err == nil || !strings.Contains(err.Error(), "env STREAM_NATS_BINDINGS_X_IN_0_CONSUMER_MAX_DELIVERIES") ||
		!strings.Contains(err.Error(), "keep one") {
		t.Errorf("two variables: %v", err)
	}

	l := loadApp(t, `spring.cloud.stream.redis.binder:
  maxlen: 500
---
spring.cloud.stream.redis.binder:
  max-length: 1000
`)
	if b := binderSection(t, l, "redis", "binder"); len(b) != 1 || b["max-length"] == nil {
		t.Errorf("two documents: binder section %v, want max-length alone", b)
	}
}

// TestBindingAliasBeatsDefault: a binding's own value of a setting under
// one name replaces the default section's under another (Kafka's
// batch-timeout and linger), as under another spelling of the name.
// Before, both reached the binder, which took the one that sorted last:
// the default's linger.
func TestBindingAliasBeatsDefault(t *testing.T) {
	l := loadApp(t, `spring.cloud.stream.kafka:
  default.producer: { linger: 10ms, batch-size: 5 }
  bindings.x-out-0.producer: { batchTimeout: 50ms }
`)
	_, prod := l.Stream.Extension("kafka", "x-out-0")
	if len(prod) != 2 || prod["batch-timeout"] != "50ms" || prod["batch-size"] == nil {
		t.Errorf("producer %v: want the binding's batch-timeout and the default's batch-size", prod)
	}
	_, prod = l.Stream.Extension("kafka", "y-out-0")
	if prod["linger"] != "10ms" {
		t.Errorf("another binding's producer %v: want the default's linger", prod)
	}
}
