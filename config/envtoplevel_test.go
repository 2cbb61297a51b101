package config

import (
	"strings"
	"testing"
)

// A variable one typo from a top-level key of the stream section
// (STREAM_SHUTDOWN_TIMOUT) was ignored without a word: only a typo below
// a key that is itself a section (STREAM_DEFAULT_BINDR) was caught, as
// the variable "started like a key". A typo'd shutdown-timeout kept 10s
// against Kubernetes' grace period. It is an error with a did-you-mean,
// at the key it spells; a variable no one change makes a key's
// (STREAM_BINDER, read by a placeholder) stays the operator's own.
func TestEnvMisspeltTopLevelStreamKey(t *testing.T) {
	const base = "stream:\n  binders:\n    local:\n      type: kafka\n  bindings:\n    process-in-0:\n      destination: x\n"
	for _, c := range []struct{ env, path, fix string }{
		{"STREAM_SHUTDOWN_TIMOUT=2s", "stream.shutdown-timout", "STREAM_SHUTDOWN_TIMEOUT"},
		{"STREAM_SHUTDOWNTIMOUT=2s", "stream.shutdowntimout", "STREAM_SHUTDOWNTIMEOUT"},
		{"STREAM_INSTANCE_CUONT=2", "stream.instance-cuont", "STREAM_INSTANCE_COUNT"},
		{"STREAM_DYNAMIC_DESTINATIONZ=a", "stream.dynamic-destinationz", "STREAM_DYNAMIC_DESTINATIONS"},
		{"STREAM_DEFAULTBINDR=local", "stream.defaultbindr", "STREAM_DEFAULTBINDER"},
		{"SPRING_CLOUD_STREAM_DEFAULTBINDR=local", "stream.defaultbindr", "SPRING_CLOUD_STREAM_DEFAULTBINDER"},
		{"stream_shutdown_timout=2s", "stream.shutdown-timout", "STREAM_SHUTDOWN_TIMEOUT"},
	} {
		name, _, _ := strings.Cut(c.env, "=")
		es := configErrors(t, Options{Data: []byte(base), Env: []string{c.env}})
		want := strings.ToUpper(name) + " matches no configuration key; did you mean " + c.fix + "?"
		if len(es) != 1 || es[0].Path != c.path || es[0].Origin != "env "+name || !strings.Contains(es[0].Msg, "did you mean "+c.fix+"?") {
			t.Errorf("%s: got %v\nwant one problem at %s (env %s): %s", c.env, es, c.path, name, want)
		}
	}
	// Valid spellings, SCSt's keys the files may set with a warning, and
	// variables of the operator's own: no problem.
	l := mustLoad(t, Options{Data: []byte(base), Logger: discard, Env: []string{
		"STREAM_INSTANCE_COUNT=2", "STREAM_DEFAULTBINDER=local",
		"STREAM_BINDER=kafka", "STREAM_NAME=orders", "STREAM_HOST=h", "STREAM_URL=u", "STREAM_PORT=1",
		"STREAM_TOPIC=t", "STREAM_GROUP=g", "STREAM_KAFKAX=1", "STREAM_VERSION=1",
		"SPRING_CLOUD_STREAM_SENDTO_DESTINATION=x", "SPRING_CLOUD_STREAM_OVERRIDECLOUDCONNECTORS=true",
		"SPRING_CLOUD_STREAM_METRICS_KEY=x", "SPRING_CLOUD_STREAM_BINDINGRETRYINTERVAL=5",
		"STREAM_BINDINGS_PROCESS_IN_0_GROUP=g", "STREAM_KAFKA_BINDINGS_PROCESS_IN_0_CONSUMER_DLQ_NAME=d",
		"STREAM_BINDERS_LOCAL_ENVIRONMENT_CLIENT_ID=c", "STREAM_DYNAMIC_DESTINATIONS=a,b",
	}})
	if got := l.Stream.InstanceCount; got != 2 {
		t.Errorf("instance-count %d, want 2", got)
	}
	if got := l.Stream.DefaultBinder; got != "local" {
		t.Errorf("default-binder %q, want local", got)
	}
}

// Spring Boot's logging.* settings streambind does not read, set as
// variables (LOGGING_FILE_NAME), were ignored without a word, where the
// same key in a file is a warning: now the variable warns as the file
// does, at the key it spells, and is no error.
func TestEnvBootLoggingSettingWarns(t *testing.T) {
	const msg = "Spring Boot logging setting ignored: streambind logs to stderr through log/slog; its keys are logging.level and logging.format (text or json)"
	for _, c := range []struct{ env, path string }{
		{"LOGGING_FILE_NAME=/tmp/x.log", "logging.file.name"},
		{"LOGGING_PATTERN_CONSOLE=x", "logging.pattern.console"},
		{"LOGGING_STRUCTURED_FORMAT_CONSOLE=ecs", "logging.structured.format.console"},
		{"LOGGING_CONFIG=classpath:logback.xml", "logging.config"},
		{"LOGGING_REGISTER_SHUTDOWN_HOOK=false", "logging.register-shutdown-hook"},
	} {
		name, _, _ := strings.Cut(c.env, "=")
		l := mustLoad(t, Options{Data: []byte("stream:\n  bindings: {}\n"), Logger: discard, Env: []string{c.env}})
		found := false
		for _, w := range l.Warnings {
			if w.Path == c.path && w.Origin == "env "+name && w.Msg == msg {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want the warning at %s (env %s), got %v", c.env, c.path, name, l.Warnings)
		}
	}
	// The file's form warns as before, in the same words.
	l := mustLoad(t, Options{Data: []byte("logging:\n  file:\n    name: /tmp/x.log\n"), Logger: discard})
	if len(l.Warnings) != 1 || l.Warnings[0].Path != "logging.file.name" || l.Warnings[0].Msg != msg {
		t.Errorf("file: got %v", l.Warnings)
	}
}
