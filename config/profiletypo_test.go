package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A profile with no file or document that is a typo of one that has a
// file (rabit for application-rabbit.yaml, in config/ too) or a document
// (on-profile: kafka) gets a did-you-mean, and the warning lists the
// profiles there are; RequireProfileFiles' error too.
func TestProfileTypoDidYouMean(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"application.yaml":               "a: 1\n---\nspring.config.activate.on-profile: kafka\nb: 2\n",
		"config/application-rabbit.yaml": "c: 3\n",
		"application-prod[1].properties": "d=4\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for p, want := range map[string]string{
		"rabit": `(looked for application-rabit.yaml, application-rabit.yml, application-rabit.properties, config/application-rabit.yaml, config/application-rabit.yml, config/application-rabit.properties) and no document with spring.config.activate.on-profile (or spring.profiles) matching it; did you mean "rabbit"? (profiles with a file or document: kafka, prod[1], rabbit)`,
		"kafa":  `; did you mean "kafka"? (profiles with a file or document: kafka, prod[1], rabbit)`,
		"zzz":   "matching it (profiles with a file or document: kafka, prod[1], rabbit)",
	} {
		l := mustLoad(t, Options{Dir: dir, Profiles: []string{p}, Env: []string{}, Logger: slog.New(slog.DiscardHandler)})
		if len(l.Warnings) != 1 || !strings.HasSuffix(l.Warnings[0].Msg, want) {
			t.Errorf("%s: warnings %v\nwant one ending %q", p, l.Warnings, want)
		}
	}
	_, err := Load(Options{Dir: dir, Profiles: []string{"rabit"}, Env: []string{}, RequireProfileFiles: true})
	var ces stream.ConfigErrors
	if !errors.As(err, &ces) || len(ces) != 1 || !strings.Contains(ces[0].Msg, `; did you mean "rabbit"?`) {
		t.Errorf("RequireProfileFiles: %v", err)
	}
}

// An active profile that matches nothing (a typo: rabit) was logged as
// "configuration key ignored" property=spring.profiles.active, though the
// key is read: the profile only matches no file and no document. It is
// logged as what it is, with the key and line that activated it and the
// did-you-mean; through Options.Logger and through the app's logger
// (stream.LoaderWarnings) alike.
func TestProfileTypoLoggedAsUnmatchedProfile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yaml":        "stream:\n  default-binder: memory\nspring.profiles.active: rabit\n",
		"application-rabbit.yaml": "a: 1\n",
	})
	check := func(how, got string) {
		t.Helper()
		want := `"msg":"active profile matches no configuration","property":"spring.profiles.active","origin":"application.yaml:3","reason":"profile \"rabit\" is active but matches no configuration: no profile file (looked for application-rabit.yaml, application-rabit.yml, application-rabit.properties) and no document with spring.config.activate.on-profile (or spring.profiles) matching it; did you mean \"rabbit\"? (profiles with a file or document: rabbit)"`
		if strings.Count(got, want) != 1 || strings.Contains(got, "configuration key ignored") {
			t.Errorf("%s: logged %s\nwant once: %s", how, got, want)
		}
	}
	var at strings.Builder
	mustLoad(t, Options{Dir: dir, Env: []string{}, Logger: slog.New(slog.NewJSONHandler(&at, nil))})
	check("Options.Logger", at.String())

	l := mustLoad(t, Options{Dir: dir, Env: []string{}})
	var app strings.Builder
	l.Stream.LoaderWarnings.Log(slog.New(slog.NewJSONHandler(&app, nil)))
	check("the app's logger", app.String())
}
