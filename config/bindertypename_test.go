package config

import (
	"testing"
	"time"
)

// TestBinderTypeDefaultsToItsName: a binder declared under stream.binders
// without a type takes its name for its type when that is a built-in
// type, as in SCSt (BinderProperties.type "by default has the same value
// as the configuration name"): stream.binders.nats.startup-timeout alone,
// in a file or by an environment variable, declares the nats binder. It
// was refused ("required: the binder type"). A name that is no type still
// needs one.
func TestBinderTypeDefaultsToItsName(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"file", Options{Data: []byte("spring.cloud.stream:\n  binders:\n    nats:\n      startup-timeout: 4s\n")}},
		{"environment variable", Options{Env: []string{"STREAM_BINDERS_NATS_STARTUP_TIMEOUT=4s"}}},
		{"SCSt environment variable", Options{Env: []string{"SPRING_CLOUD_STREAM_BINDERS_NATS_STARTUP_TIMEOUT=4s"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := mustLoad(t, tc.opts)
			bc, ok := l.Stream.Binders["nats"]
			if !ok {
				t.Fatalf("binders %v: no nats", l.Stream.Binders)
			}
			if bc.Type != "nats" || bc.StartupTimeout != 4*time.Second {
				t.Errorf("binder nats: type %q, startup-timeout %v; want nats, 4s", bc.Type, bc.StartupTimeout)
			}
		})
	}
	es := configErrors(t, Options{Data: []byte("stream:\n  binders:\n    eu:\n      startup-timeout: 4s\n")})
	if len(es) != 1 || es[0].Path != "stream.binders.eu.type" || es[0].Origin != "application.yaml:3" {
		t.Errorf("binder eu without a type: %v; want one problem at stream.binders.eu.type, application.yaml:3", es)
	}
}
