// Package sectionerr reports the problems of a configuration section that
// a package other than config decodes (management.*, logging.*,
// management.tracing.*) the way the configuration loader reports the
// stream section's, so that management and telemetry say them alike.
package sectionerr

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/streambind/streambind/stream"
)

// Problem is one problem of a section: the key path as the loaded tree has
// it (lower-case) and what is wrong with its value.
type Problem struct{ Path, Msg string }

// Sort orders ps by key path, then message, so that every problem of a
// section is reported in the same order whatever the map order decoding
// visited the keys in.
func Sort(ps []Problem) {
	slices.SortFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Msg, b.Msg))
	})
}

// Joined returns nil when ps is empty, else one error "<section>
// configuration: path: msg; path: msg" naming the keys as the tree has
// them (the form for a caller without the loader's origins).
func Joined(section string, ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Path + ": " + p.Msg
	}
	return fmt.Errorf("%s configuration: %s", section, strings.Join(msgs, "; "))
}

// Errors returns nil when ps is empty, else a [stream.ConfigErrors] of one
// item a problem, made by problem (config.Loaded.Problem: the key as the
// files write it and where they set it, file:line or "env NAME"); a nil
// problem names each key as the tree has it.
func Errors(ps []Problem, problem func(path, msg string) *stream.ConfigError) error {
	if len(ps) == 0 {
		return nil
	}
	if problem == nil {
		problem = func(path, msg string) *stream.ConfigError { return &stream.ConfigError{Path: path, Msg: msg} }
	}
	out := make(stream.ConfigErrors, len(ps))
	for i, p := range ps {
		out[i] = problem(p.Path, p.Msg)
	}
	return out
}
