package config

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Spring Boot's documented variable for a key drops its dashes
// (spring.main.log-startup-info is SPRING_MAIN_LOGSTARTUPINFO), and its
// ConfigurationPropertyName equality ignores the dashes and the case of a
// map key: SPRING_CLOUD_STREAM_BINDINGS_NEWSIN0_DESTINATION is the
// destination of the files' binding news-in-0 (SCSt binds it so), not of a
// second binding newsin0.

// loadSquashedDir writes files into a temporary directory and loads it with
// the given environment only.
func loadSquashedDir(t *testing.T, files map[string]string, env ...string) *Loaded {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return mustLoad(t, Options{Dir: dir, Logger: discard, Env: append([]string{}, env...)})
}

func squashedBindingNames(l *Loaded) string {
	names := make([]string, 0, len(l.Stream.Bindings))
	for n := range l.Stream.Bindings {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

const newsYAML = `spring:
  cloud:
    function:
      definition: news;processStudents
    stream:
      bindings:
        news-in-0:
          destination: news.file
          group: file-group
        processStudents-in-0:
          destination: students.file
`

func TestEnvSquashedBindingName(t *testing.T) {
	l := loadSquashedDir(t, map[string]string{"application.yml": newsYAML},
		"SPRING_CLOUD_STREAM_BINDINGS_NEWSIN0_DESTINATION=news.env",
		"SPRING_CLOUD_STREAM_BINDINGS_NEWSIN0_GROUP=env-group",
		"SPRING_CLOUD_STREAM_BINDINGS_PROCESSSTUDENTSIN0_DESTINATION=students.env")
	if got := squashedBindingNames(l); got != "news-in-0,processStudents-in-0" {
		t.Fatalf("bindings %s, want news-in-0,processStudents-in-0 (no second binding)", got)
	}
	b := l.Stream.Bindings["news-in-0"]
	if b.Destination != "news.env" || b.Group != "env-group" {
		t.Fatalf("news-in-0 = %q/%q, want news.env/env-group", b.Destination, b.Group)
	}
	if d := l.Stream.Bindings["processStudents-in-0"].Destination; d != "students.env" {
		t.Fatalf("processStudents-in-0 destination %q, want students.env", d)
	}
	for k, w := range map[string]string{
		"stream.bindings.news-in-0.destination":            "env SPRING_CLOUD_STREAM_BINDINGS_NEWSIN0_DESTINATION",
		"stream.bindings.news-in-0.group":                  "env SPRING_CLOUD_STREAM_BINDINGS_NEWSIN0_GROUP",
		"stream.bindings.processstudents-in-0.destination": "env SPRING_CLOUD_STREAM_BINDINGS_PROCESSSTUDENTSIN0_DESTINATION",
	} {
		if o := l.Stream.Origins[k]; o != w {
			t.Errorf("Origins[%s] = %q, want %q", k, o, w)
		}
	}
	if len(l.Warnings) != 0 {
		t.Errorf("warnings: %v", l.Warnings)
	}
}

// A binding of the function definition that no file declares is matched
// so too.
func TestEnvSquashedFunctionBinding(t *testing.T) {
	l := loadSquashedDir(t, map[string]string{"application.yml": "spring.cloud.function.definition: processStudents\n"},
		"STREAM_BINDINGS_PROCESSSTUDENTSIN0_DESTINATION=students.env")
	if got := squashedBindingNames(l); got != "processStudents-in-0" {
		t.Fatalf("bindings %s, want processStudents-in-0", got)
	}
	if d := l.Stream.Bindings["processStudents-in-0"].Destination; d != "students.env" {
		t.Fatalf("destination %q, want students.env", d)
	}
}

func TestEnvSquashedBinderName(t *testing.T) {
	yml := `spring.cloud.stream:
  binders:
    kafka-one:
      type: kafka
  bindings:
    news-in-0:
      binder: kafka-one
`
	l := loadSquashedDir(t, map[string]string{"application.yml": yml},
		"SPRING_CLOUD_STREAM_BINDERS_KAFKAONE_TYPE=rabbit")
	if _, ok := l.Stream.Binders["kafkaone"]; ok || len(l.Stream.Binders) != 1 {
		t.Fatalf("binders %v, want kafka-one only", l.Stream.Binders)
	}
	if ty := l.Stream.Binders["kafka-one"].Type; ty != "rabbit" {
		t.Fatalf("kafka-one type %q, want rabbit", ty)
	}
	if o := l.Stream.Origins["stream.binders.kafka-one.type"]; o != "env SPRING_CLOUD_STREAM_BINDERS_KAFKAONE_TYPE" {
		t.Fatalf("origin %q", o)
	}
}

func TestEnvSquashedKafkaBindingName(t *testing.T) {
	yml := `spring.cloud.stream:
  bindings:
    news-in-0:
      destination: news
  kafka:
    bindings:
      news-in-0:
        consumer:
          ack-mode: RECORD
`
	l := loadSquashedDir(t, map[string]string{"application.yml": yml},
		"SPRING_CLOUD_STREAM_KAFKA_BINDINGS_NEWSIN0_CONSUMER_ACKMODE=MANUAL",
		"SPRING_CLOUD_STREAM_KAFKA_BINDINGS_NEWSIN0_CONSUMER_STARTOFFSET=earliest")
	kb := l.Stream.Extensions["kafka"].Bindings
	if len(kb) != 1 {
		t.Fatalf("kafka bindings %v, want news-in-0 only", kb)
	}
	c := kb["news-in-0"].Consumer
	// A key the files do not have is written as the variable spells it
	// (startoffset), which the binder reads as start-offset.
	if c["ack-mode"] != "MANUAL" || c["startoffset"] != "earliest" {
		t.Fatalf("kafka news-in-0 consumer %v, want ack-mode MANUAL, startoffset earliest", c)
	}
}

// A name that matches no entry keeps today's reading: a binding of that
// name, as Spring Boot makes a map entry of the variable's lower-cased key.
func TestEnvSquashedNoMatch(t *testing.T) {
	l := loadSquashedDir(t, map[string]string{"application.yml": newsYAML},
		"SPRING_CLOUD_STREAM_BINDINGS_OTHERIN0_DESTINATION=o")
	if d := l.Stream.Bindings["otherin0"].Destination; d != "o" {
		t.Fatalf("bindings %s; otherin0 destination %q, want o", squashedBindingNames(l), d)
	}
	if d := l.Stream.Bindings["news-in-0"].Destination; d != "news.file" {
		t.Fatalf("news-in-0 destination %q", d)
	}
}

// Bindings a-b and ab both present: for Spring Boot the variable's ab
// equals both names, and each entry binds its key from it, so the
// variable sets both. C_D is c-d's only (cd's variable is CD).
func TestEnvSquashedAmbiguous(t *testing.T) {
	yml := "spring.cloud.stream.bindings:\n  a-b:\n    destination: f1\n  ab:\n    destination: f2\n  c-d:\n    destination: f3\n  cd:\n    destination: f4\n"
	l := loadSquashedDir(t, map[string]string{"application.yml": yml},
		"SPRING_CLOUD_STREAM_BINDINGS_AB_DESTINATION=x", "SPRING_CLOUD_STREAM_BINDINGS_C_D_DESTINATION=y")
	if got := squashedBindingNames(l); got != "a-b,ab,c-d,cd" {
		t.Fatalf("bindings %s", got)
	}
	for n, w := range map[string]string{"a-b": "x", "ab": "x", "c-d": "y", "cd": "f4"} {
		if d := l.Stream.Bindings[n].Destination; d != w {
			t.Errorf("%s destination %q, want %q", n, d, w)
		}
	}
	for _, k := range []string{"stream.bindings.a-b.destination", "stream.bindings.ab.destination"} {
		if o := l.Stream.Origins[k]; o != "env SPRING_CLOUD_STREAM_BINDINGS_AB_DESTINATION" {
			t.Errorf("Origins[%s] = %q", k, o)
		}
	}
}
