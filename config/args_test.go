package config

import (
	"os"
	"strings"
	"testing"
)

// TestCommandLineArgs: Options.Args are read as Spring Boot reads a
// program's command line (SimpleCommandLinePropertySource): --name=value
// sets the key (relaxed), over the files, the variables and
// SPRING_APPLICATION_JSON (origin "command line"); --name alone is "";
// an option given twice has both values joined with ','; arguments not
// starting with "--" are ignored; --spring.profiles.active chooses the
// profiles over SPRING_PROFILES_ACTIVE and the JSON's.
func TestCommandLineArgs(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml": `spring:
  cloud:
    stream:
      default-binder: rabbit
      bindings:
        process-in-0: { group: file, destination: orders }
      kafka:
        binder:
          brokers: file:9092
myapp:
  name: file
  empty: x
`,
		"application-blue.yaml":  "myapp:\n  colour: blue\n",
		"application-green.yaml": "myapp:\n  colour: green\n",
	})
	l := mustLoad(t, Options{Dir: dir, Env: []string{
		"SPRING_CLOUD_STREAM_BINDINGS_PROCESSIN0_GROUP=env",
		"SPRING_PROFILES_ACTIVE=green",
		`SPRING_APPLICATION_JSON={"stream":{"default-binder":"json"},"myapp":{"name":"json"}}`,
	}, Args: []string{
		"run", "-v",
		"--spring.cloud.stream.bindings.process-in-0.group=args",
		"--spring.cloud.stream.defaultBinder=kafka",
		"--myapp.name=a=b",
		"--myapp.empty",
		"--spring.cloud.stream.kafka.binder.brokers=k1:9092",
		"--spring.cloud.stream.kafka.binder.brokers=k2:9092",
		"--spring.profiles.active=blue",
	}})
	b := l.Stream.Binding("process-in-0")
	if b.Group != "args" || b.Destination != "orders" {
		t.Errorf("group %q, destination %q: want args (the command line over the variable), orders (the file's)", b.Group, b.Destination)
	}
	if l.Stream.DefaultBinder != "kafka" {
		t.Errorf("default-binder = %q, want kafka (the command line over SPRING_APPLICATION_JSON)", l.Stream.DefaultBinder)
	}
	if o := l.Stream.Origins["stream.bindings.process-in-0.group"]; o != OriginArgs {
		t.Errorf("origin of the group = %q, want %q", o, OriginArgs)
	}
	my, _ := l.Raw["myapp"].(map[string]any)
	if my["name"] != "a=b" || my["empty"] != "" || my["colour"] != "blue" {
		t.Errorf("myapp = %v, want name a=b, empty \"\", colour blue (--spring.profiles.active over SPRING_PROFILES_ACTIVE)", my)
	}
	if strings.Join(l.Profiles, ",") != "blue" {
		t.Errorf("profiles %v, want [blue]", l.Profiles)
	}
	kb, _ := lookupPath(l.Raw, []string{"stream", "kafka", "binder"}).(map[string]any)
	if got := kb["brokers"]; got != "k1:9092,k2:9092" {
		t.Errorf("brokers = %v, want k1:9092,k2:9092 (an option given twice)", got)
	}

	// Nil Args: none read. "--=x" is an error, as in Spring, without its
	// value (it may be a secret); "--" alone ends the options (Spring
	// Framework 6.1): what follows is not read.
	l = mustLoad(t, Options{Dir: dir, Env: []string{}})
	if l.Stream.Binding("process-in-0").Group != "file" {
		t.Errorf("without Args the group is %q, want file", l.Stream.Binding("process-in-0").Group)
	}
	es := configErrors(t, Options{Dir: dir, Env: []string{}, Args: []string{"--=hunter6"}})
	if len(es) != 1 || !strings.Contains(es[0].Error(), "invalid argument syntax") || es[0].Origin != OriginArgs || strings.Contains(es[0].Error(), "hunter6") {
		t.Errorf("problems %q, want one invalid argument syntax at %s, without the value", es, OriginArgs)
	}
	l = mustLoad(t, Options{Dir: dir, Env: []string{}, Args: []string{"--spring.cloud.stream.bindings.process-in-0.group=before", "--", "--spring.cloud.stream.bindings.process-in-0.group=after", "--=x"}})
	if g := l.Stream.Binding("process-in-0").Group; g != "before" {
		t.Errorf("group %q, want before: \"--\" ends the options", g)
	}
	// An unknown key is checked as a file's.
	es = configErrors(t, Options{Dir: dir, Env: []string{}, Args: []string{"--spring.cloud.stream.bindings.process-in-0.grop=g"}})
	if len(es) != 1 || es[0].Origin != OriginArgs || !strings.Contains(es[0].Error(), "did you mean group") {
		t.Errorf("problems %q, want one unknown key with a suggestion at %s", es, OriginArgs)
	}
}

// TestCommandLineArgsLocations: --spring.config.location and
// --spring.config.import choose the files, as on a Spring Boot command
// line, over SPRING_CONFIG_LOCATION; --spring.profiles.include and
// group.<name> are read as the JSON's are.
func TestCommandLineArgsLocations(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml":   "myapp:\n  from: base\n",
		"other.yaml":         "myapp:\n  from: other\n",
		"extra.yaml":         "myapp:\n  extra: yes\n",
		"application-a.yaml": "myapp:\n  a: on\n",
		"application-b.yaml": "myapp:\n  b: on\n",
	})
	l := mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_LOCATION=" + dir + "/application.yaml"}, Args: []string{
		"--spring.config.location=" + dir + "/other.yaml",
		"--spring.config.import=" + dir + "/extra.yaml",
		"--spring.profiles.group.g=b",
		"--spring.profiles.include=a",
		"--spring.profiles.active=g",
	}})
	my, _ := l.Raw["myapp"].(map[string]any)
	if my["from"] != "other" || my["extra"] != "yes" {
		t.Errorf("myapp = %v, want from other (--spring.config.location), extra yes (--spring.config.import)", my)
	}
	if strings.Join(l.Profiles, ",") != "a,g,b" {
		t.Errorf("profiles %v, want [a g b]", l.Profiles)
	}
	// Read before any file, as the environment's: no "has no effect in
	// a file" warning for the command line's spring.config.location.
	for _, w := range l.Warnings {
		if strings.Contains(w.Error(), "has no effect") {
			t.Errorf("warning %v", w)
		}
	}
}

// TestCommandLineArgsDefault: nil Args reads no command line, even when
// the process has one: a Spring Boot application reads only the args its
// main hands to SpringApplication.run, and a program's own flags are not
// configuration unless it passes them.
func TestCommandLineArgsDefault(t *testing.T) {
	saved := os.Args
	t.Cleanup(func() { os.Args = saved })
	os.Args = []string{"service", "--myapp.x=1", "-v", "--server.port=8081"}
	l := mustLoad(t, Options{Data: []byte("myapp:\n  x: 0\n"), Env: []string{}, Logger: discard, Args: nil})
	if my, _ := l.Raw["myapp"].(map[string]any); my["x"] != 0 {
		t.Errorf("myapp.x = %v (%T), want 0: nil Args reads no command line (not os.Args)", my["x"], my["x"])
	}
	l = mustLoad(t, Options{Data: []byte("myapp:\n  x: 0\n"), Env: []string{}, Logger: discard, Args: os.Args[1:]})
	if my, _ := l.Raw["myapp"].(map[string]any); my["x"] != "1" {
		t.Errorf("myapp.x = %v, want 1 from Args: os.Args[1:]", my["x"])
	}
}
