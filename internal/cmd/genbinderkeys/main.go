// Command genbinderkeys writes cmd/streambind/binderkeys_gen.go, the
// binders' documented keys by type and block (package refgen,
// BinderKeysGo), which streambind config spells the keys of binder
// sections with. It is run by go generate in cmd/streambind:
//
//	go generate ./cmd/streambind
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/streambind/streambind/internal/refgen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "genbinderkeys: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	root := dir
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return fmt.Errorf("no go.mod above %s", dir)
		}
		root = parent
	}
	b, err := refgen.BinderKeysGo(root)
	if err != nil {
		return err
	}
	out := filepath.Join(root, "cmd", "streambind", "binderkeys_gen.go")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}
