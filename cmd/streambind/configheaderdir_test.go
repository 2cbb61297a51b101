package main

import (
	"strings"
	"testing"
)

// TestConfigHeaderRelativeDir: config given a relative directory (c01,
// ./c01/, c01/config/..) names the files read by that directory once; the
// compatibility run's `streambind config c01` printed "files read, later
// ones winning: c01/c01/application.yml" (the loader names the file by
// the relative directory it was given, and the header joined the
// directory to it again).
func TestConfigHeaderRelativeDir(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"c01/application.yml":        "spring:\n  application:\n    name: demo\n",
		"c01/application-extra.yml":  "spring:\n  application:\n    name: demo2\n",
		"c01/config/application.yml": "server:\n  port: 8080\n",
	})
	// Relative to the working directory, as from a shell (runIn's dir
	// would make the path absolute before the loader sees it).
	t.Chdir(dir)
	for _, arg := range []string{"c01", "./c01/", "c01/config/.."} {
		r := runIn(t, "", nil, "config", "--profile", "extra", arg)
		want := "# files read, later ones winning: c01/application.yml, c01/config/application.yml, c01/application-extra.yml\n"
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("config %s: exit %d, want %q in stdout:\n%s\nstderr:\n%s", arg, r.code, want, r.stdout, r.stderr)
		}
	}
	t.Chdir("c01")
	r := runIn(t, "", nil, "config", "--profile", "extra")
	if want := "# files read, later ones winning: application.yml, config/application.yml, application-extra.yml\n"; !strings.Contains(r.stdout, want) {
		t.Errorf("config in c01: want %q in stdout:\n%s", want, r.stdout)
	}
}
