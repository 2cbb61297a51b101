package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

//go:generate go run . gen-cli-doc ../../docs/cli.md
//go:generate go run ../../internal/cmd/genbinderkeys

// newGenDocCmd is the hidden command that writes docs/cli.md (go generate
// ./cmd/streambind); TestCLIReferenceIsCurrent fails when the checked-in
// file differs from what it writes.
func newGenDocCmd(e *runEnv) *cobra.Command {
	return &cobra.Command{
		Use:    "gen-cli-doc FILE",
		Short:  "Write the CLI reference (docs/cli.md)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var b strings.Builder
			writeCLIDoc(&b, newRoot(e))
			if err := os.WriteFile(args[0], []byte(b.String()), 0o644); err != nil {
				return failed(err)
			}
			return nil
		},
	}
}

// writeCLIDoc writes the Markdown reference of root's command tree: for
// each visible command, depth first in the order cobra lists them, its
// synopsis, description, examples and flags.
func writeCLIDoc(w io.Writer, root *cobra.Command) {
	fmt.Fprintf(w, "# The streambind command\n\n")
	fmt.Fprintf(w, "<!-- Generated from the cobra command tree by `go generate ./cmd/streambind`; do not edit. -->\n\n")
	fmt.Fprintf(w, "%s\n\n", root.Long)
	fmt.Fprintf(w, "Exit status: 0 on success and for `--help`, 1 on failure (or problems found), 2 on bad usage.\n\n")
	var cmds []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			if !s.IsAvailableCommand() || s.Name() == "help" {
				continue
			}
			cmds = append(cmds, s)
			walk(s)
		}
	}
	walk(root)
	fmt.Fprintf(w, "## Commands\n\n")
	for _, c := range cmds {
		fmt.Fprintf(w, "- [`%s`](#%s) — %s\n", c.CommandPath(), anchor(c.CommandPath()), c.Short)
	}
	fmt.Fprintln(w)
	for _, c := range cmds {
		fmt.Fprintf(w, "## %s\n\n%s.\n\n", c.CommandPath(), c.Short)
		fmt.Fprintf(w, "```text\n%s\n```\n\n", c.UseLine())
		if c.Long != "" {
			fmt.Fprintf(w, "```text\n%s\n```\n\n", strings.TrimRight(c.Long, "\n"))
		}
		if c.Example != "" {
			fmt.Fprintf(w, "Examples:\n\n```sh\n%s\n```\n\n", strings.TrimRight(c.Example, "\n"))
		}
		if f := c.NonInheritedFlags(); f.HasAvailableFlags() {
			fmt.Fprintf(w, "Flags:\n\n```text\n%s```\n\n", f.FlagUsages())
		}
	}
}

// anchor is the GitHub heading anchor of "## text".
func anchor(text string) string {
	return strings.ReplaceAll(strings.ToLower(text), " ", "-")
}
