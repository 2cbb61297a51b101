// Command genref writes docs/configuration.md, the reference of every
// configuration key, generated from the code by package refgen. It is run
// by go generate in docs/:
//
//	go generate ./docs
//
// or by hand from anywhere in the module: go run ./internal/cmd/genref.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/streambind/streambind/internal/refgen"
)

func main() {
	out := flag.String("o", "", "file to write (default: docs/configuration.md of the module)")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintf(os.Stderr, "genref: %v\n", err)
		os.Exit(1)
	}
}

func run(out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join(root, "docs", "configuration.md")
	}
	b, err := refgen.Generate(root)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}

// moduleRoot is the nearest directory upward from the working directory
// that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
