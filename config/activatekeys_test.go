package config

import (
	"strings"
	"testing"
)

// A misspelt key under spring.config.activate was ignored, leaving the
// document without a condition: it applied whatever the active profiles
// (a prod-only destination in every run), without a word.
func TestUnknownActivateKeyIsAnError(t *testing.T) {
	const base = "stream:\n  default-binder: memory\n---\n"
	for _, tc := range []struct{ doc, want string }{
		{"spring.config.activate.on-profil: prod\nstream.default-binder: kafka\n",
			"application.yaml:4: spring.config.activate.on-profil: unknown key; did you mean on-profile?"},
		{"spring:\n  config:\n    activate:\n      onProfil: prod\nstream.default-binder: kafka\n",
			"application.yaml:7: spring.config.activate.onProfil: unknown key; did you mean on-profile?"},
		{"spring.config:\n  activate.on-cloud-platfrom: kubernetes\nstream.default-binder: kafka\n",
			"application.yaml:5: spring.config.activate.on-cloud-platfrom: unknown key; did you mean on-cloud-platform?"},
		{"spring.config.activate: prod\nstream.default-binder: kafka\n",
			"application.yaml:4: spring.config.activate: expected a map of on-profile, on-cloud-platform"},
		{"spring.config.activate.on-profile: prod\nspring:\n  config:\n    activate:\n      onProfile: dev\n",
			"application.yaml:8: spring.config.activate.onProfile: the document's condition is given twice"},
	} {
		es := configErrors(t, Options{Data: []byte(base + tc.doc)})
		if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
			t.Errorf("%q:\ngot %v\nwant one problem starting %q", tc.doc, es, tc.want)
		}
	}
	// The same in a .properties document.
	es := configErrors(t, Options{Name: "application.properties", File: "application.properties",
		Data: []byte("stream.default-binder=memory\n#---\nspring.config.activate.on-profil=prod\nstream.default-binder=kafka\n")})
	if len(es) != 1 || !strings.HasPrefix(es[0].Error(), "application.properties:3: spring.config.activate.on-profil: unknown key") {
		t.Errorf(".properties: got %v", es)
	}
	// The keys it has, in every spelling, are no problem.
	l := mustLoad(t, Options{Data: []byte(base + "spring:\n  config:\n    activate:\n      onProfile: prod\n      on_cloud_platform: none\nstream.default-binder: kafka\n")})
	if l.Stream.DefaultBinder != "memory" {
		t.Errorf("default binder %q: the prod document applied without prod", l.Stream.DefaultBinder)
	}
}
