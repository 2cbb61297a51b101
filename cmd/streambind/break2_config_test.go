package main

import (
	"strings"
	"testing"
)

// What is wrong: `streambind config` prints the text a secret placeholder
// gave a spring.config.import location, although the loader hid it: with
// SPRING_CONFIG_IMPORT=file:${DB_PASSWORD}.yaml the header ("files read,
// later ones winning: application.yaml, <secret>.yaml", configHeader
// prints Loaded.Files as they are) and each imported key's origin comment
// ("b: 2 # <secret>.yaml:1") show it. The loader puts that text in
// Loaded.Secrets (config.go: "And the texts secret placeholders gave
// import locations") and documents that a caller showing anything of its
// own hides it with Secrets.String; configcmd.go does so for values
// (HideSecrets/redact.Tree) but not for the file list or the origins.
//
// Spring Boot logs property sources by resource name, but streambind's
// promise (config.go, Loaded.Secrets; imports.go, importer.hidden: "hidden
// in every message") is that a secret placeholder's value is never
// shown; the loader's own messages for the same location do hide it
// ("file:/nope/******.yaml").
//
// Expected: neither stdout nor stderr of `streambind config` contains the
// secret's value (the header and origins show it as ******).
func TestBreak2ConfigHidesSecretImportLocation(t *testing.T) {
	const secret = "hunter2-x"
	dir := writeFiles(t, map[string]string{
		"application.yaml": "spring.cloud.function.definition: tick\n",
		secret + ".yaml":   "b: 2\n",
	})
	r := runIn(t, dir, []string{"DB_PASSWORD=" + secret, "SPRING_CONFIG_IMPORT=file:${DB_PASSWORD}.yaml"}, "config")
	if r.code != exitOK {
		t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "b: 2") {
		t.Fatalf("the imported key is not shown:\n%s", r.stdout)
	}
	for _, line := range strings.Split(r.stdout+"\n"+r.stderr, "\n") {
		if strings.Contains(line, secret) {
			t.Errorf("the secret's value is shown: %s", line)
		}
	}
}
