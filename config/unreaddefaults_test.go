package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// A service ported with its application.yaml beside the orders.yaml that
// SPRING_CONFIG_NAME=orders names ran without application.yaml (its
// virtual host, credentials), and nothing said so at start-up: Boot says
// nothing either, but the file left there is more often a mistake than a
// choice. Load warns of each application.* in Dir or Dir/config/ it did
// not read because the name or locations chose other files.
func TestUnreadApplicationFilesWarned(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"application.yaml":              "a: application\n",
		"config/application.properties": "b=config\n",
		"orders.yaml":                   "a: orders\n",
		"config/other/application.yml":  "c: deeper\n", // config/*/ is not looked at
	})
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	l := mustLoad(t, Options{Dir: dir, Env: []string{"SPRING_CONFIG_NAME=orders"}, Logger: log})
	var got []string
	for _, w := range l.Warnings {
		got = append(got, w.Error())
	}
	const why = ": not read: the files looked for are orders.yaml, orders.yml or orders.properties (env SPRING_CONFIG_NAME) in ./, config/ or config/*/ (default locations)"
	want := []string{"application.yaml" + why, "config/application.properties" + why}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(logs.String(), `msg="configuration file not read" file=application.yaml`) {
		t.Errorf("not logged as a file not read:\n%s", logs.String())
	}
	// Read, or the default search, or a File named: no word.
	for _, opts := range []Options{
		{Dir: dir, Env: []string{"SPRING_CONFIG_NAME=application,orders"}},
		{Dir: dir, Env: []string{}},
		{Dir: dir, File: "orders.yaml", Env: []string{"SPRING_CONFIG_NAME=orders"}},
	} {
		for _, w := range mustLoad(t, opts).Warnings {
			if strings.Contains(w.Msg, "not read") {
				t.Errorf("%+v: %v", opts.Env, w)
			}
		}
	}
}
