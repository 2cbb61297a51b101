// Package docs holds streambind's documentation, in Markdown (start at
// README.md in this folder), and the tests that keep it true to the code:
//
//   - configuration.md is generated from the code by internal/cmd/genref,
//     and the test fails when the checked-in file differs from what the
//     generator produces;
//   - the binder settings the binders' package docs list, written with
//     their documented defaults in an application.yaml, load and are
//     accepted by their binders;
//   - operations.md names every metric and endpoint of package management;
//   - every relative link in docs/*.md, the README and the examples'
//     READMEs leads to a file (and heading) that exists.
//
// After changing a configuration key, its doc comment or a binder's
// settings block, regenerate the reference:
//
//	go generate ./docs
//
// The package has no code of its own.
package docs

//go:generate go run ../internal/cmd/genref
