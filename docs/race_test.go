//go:build race

package docs_test

// raceBuild: this test binary was built with -race.
const raceBuild = true
