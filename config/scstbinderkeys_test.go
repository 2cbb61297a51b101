package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/streambind/streambind/stream"
)

// SCSt's binder keys inherit-environment and default-candidate
// (BinderProperties) load from an SCSt file in every spelling SCSt
// accepts, into stream.BinderConfig; a binder that sets neither gets the
// defaults (true), and a binder environment in SCSt's nested form keeps
// the application's connection settings apart (they are defaults, merged
// per binder by the stream package).
func TestSCStBinderKeys(t *testing.T) {
	const yaml = `spring:
  rabbitmq:
    username: app
    password: s3cret
  cloud:
    stream:
      binders:
        r1:
          type: rabbit
          inherit-environment: false
          default-candidate: false
          environment:
            spring.rabbitmq.host: other
        r2:
          type: rabbit
          inheritEnvironment: true
          defaultCandidate: true
        r3:
          type: rabbit
`
	const props = `spring.rabbitmq.username=app
spring.rabbitmq.password=s3cret
spring.cloud.stream.binders.r1.type=rabbit
spring.cloud.stream.binders.r1.inheritEnvironment=false
spring.cloud.stream.binders.r1.defaultCandidate=false
spring.cloud.stream.binders.r1.environment.spring.rabbitmq.host=other
spring.cloud.stream.binders.r2.type=rabbit
spring.cloud.stream.binders.r2.inherit-environment=true
spring.cloud.stream.binders.r2.default-candidate=true
spring.cloud.stream.binders.r3.type=rabbit
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "application.properties"), []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]Options{
		"yaml":       {Data: []byte(yaml)},
		"properties": {Dir: dir},
	} {
		t.Run(name, func(t *testing.T) {
			l := mustLoad(t, opts)
			if len(l.Warnings) != 0 {
				t.Errorf("warnings: %v", l.Warnings)
			}
			b := l.Stream.Binders
			r1, r2, r3 := b["r1"], b["r2"], b["r3"]
			if r1.Inherits() || r1.Candidate() {
				t.Errorf("r1: inherits %v, candidate %v; want false, false", r1.Inherits(), r1.Candidate())
			}
			if r1.InheritEnvironment == nil || r1.DefaultCandidate == nil {
				t.Errorf("r1: keys not read: %+v", r1)
			}
			for n, bc := range map[string]stream.BinderConfig{"r2": r2, "r3": r3} {
				if !bc.Inherits() || !bc.Candidate() {
					t.Errorf("%s: inherits %v, candidate %v; want true, true", n, bc.Inherits(), bc.Candidate())
				}
			}
			if r3.InheritEnvironment != nil || r3.DefaultCandidate != nil {
				t.Errorf("r3 sets neither key: %+v", r3)
			}
			if want := map[string]any{"addresses": "other:5672"}; !reflect.DeepEqual(r1.Environment, want) {
				t.Errorf("r1 environment %v, want %v", r1.Environment, want)
			}
			if want := map[string]any{"username": "app", "password": "s3cret"}; !reflect.DeepEqual(l.Stream.ConnectionDefaults["rabbit"], want) {
				t.Errorf("connection defaults %v, want %v", l.Stream.ConnectionDefaults["rabbit"], want)
			}
			if name, _ := stream.DefaultBinderOf(l.Stream, []string{"rabbit"}); name != "" {
				t.Errorf("default binder %q with two candidates (r2, r3)", name)
			}
		})
	}
}

// A value of the wrong type is refused at the key, as for other keys.
func TestSCStBinderKeysBadValue(t *testing.T) {
	errs := configErrors(t, Options{Data: []byte("spring.cloud.stream.binders.r1:\n  type: rabbit\n  inherit-environment: maybe\n")})
	if len(errs) != 1 || errs[0].Path != "stream.binders.r1.inherit-environment" {
		t.Fatalf("got %v", errs)
	}
}
