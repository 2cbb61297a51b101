package main

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func allCommands(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() && s.Name() != "help" {
			out = append(out, s)
			out = append(out, allCommands(s)...)
		}
	}
	return out
}

// docs/cli.md is what gen-cli-doc writes from the command tree.
func TestCLIReferenceIsCurrent(t *testing.T) {
	var b strings.Builder
	writeCLIDoc(&b, newRoot(&runEnv{}))
	got, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) == b.String() {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(b.String(), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("docs/cli.md is out of date: run `go generate ./cmd/streambind` and commit the result.\nFirst difference, line %d:\n  file:      %s\n  generated: %s", i+1, g, w)
		}
	}
}

// Every visible command has an example, and the reference lists it.
func TestEveryCommandHasAnExample(t *testing.T) {
	var b strings.Builder
	root := newRoot(&runEnv{})
	writeCLIDoc(&b, root)
	for _, c := range allCommands(root) {
		if c.Example == "" && !c.HasSubCommands() {
			t.Errorf("%s has no example", c.CommandPath())
		}
		if !strings.Contains(b.String(), "## "+c.CommandPath()+"\n") {
			t.Errorf("the reference lacks %s", c.CommandPath())
		}
	}
}
