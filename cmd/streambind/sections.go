package main

import (
	"errors"
	"strings"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

type sectionError struct{ path, msg string }

// managementSectionErrors decodes management.* as an app does
// (management.FromConfig): each problem with its key as written and its
// file:line.
func managementSectionErrors(l *config.Loaded) stream.ConfigErrors {
	_, err := management.FromConfig(l.Raw, l.Problem)
	var ces stream.ConfigErrors
	if errors.As(err, &ces) {
		return ces
	}
	return nil
}

// sectionErrors decodes logging.* (and management.tracing.*) as an app
// does and returns their problems one by one. telemetry reports every
// problem in one error, "<section> configuration: <path>: <msg>; <path>:
// <msg>", which is split here at each "; " that starts another key path
// of the section.
func sectionErrors(raw map[string]any) []sectionError {
	var out []sectionError
	if _, err := telemetry.ConfigFrom(raw); err != nil {
		out = append(out, splitSectionError(err.Error(), "telemetry configuration: ")...)
	}
	return out
}

// postgresSectionErrors decodes the outbox and idempotency sections with
// those packages' FromConfig, which an app calls at start-up: their
// unknown keys and bad values are its errors, each with its key and
// file:line. FromConfig only decodes and validates; nothing connects to
// PostgreSQL or Redis. An absent section is not a problem (the defaults).
func postgresSectionErrors(l *config.Loaded) stream.ConfigErrors {
	var out stream.ConfigErrors
	add := func(section string, err error) {
		if err == nil {
			return
		}
		var ces stream.ConfigErrors
		if errors.As(err, &ces) {
			out = append(out, ces...)
			return
		}
		var ce *stream.ConfigError
		if errors.As(err, &ce) {
			out = append(out, ce)
			return
		}
		out = append(out, &stream.ConfigError{Path: section, Msg: err.Error()})
	}
	_, err := outbox.FromConfig(l)
	add(outbox.Section, err)
	_, err = idempotency.FromConfig(l)
	add(idempotency.Section, err)
	return out
}

func splitSectionError(text, prefix string) []sectionError {
	rest, ok := strings.CutPrefix(text, prefix)
	if !ok {
		return []sectionError{{path: strings.TrimSuffix(strings.TrimSuffix(prefix, ": "), " configuration"), msg: text}}
	}
	var items []string
	for {
		i := nextItem(rest)
		if i < 0 {
			items = append(items, rest)
			break
		}
		items = append(items, rest[:i])
		rest = rest[i+2:]
	}
	out := make([]sectionError, 0, len(items))
	for _, it := range items {
		path, msg, ok := strings.Cut(it, ": ")
		if !ok {
			path, msg = strings.TrimSuffix(prefix, " configuration: "), it
		}
		out = append(out, sectionError{path: path, msg: msg})
	}
	return out
}

// nextItem returns the index of the "; " that starts the next item
// ("; management." or "; logging."), or -1.
func nextItem(s string) int {
	from := 0
	for {
		i := strings.Index(s[from:], "; ")
		if i < 0 {
			return -1
		}
		i += from
		next := s[i+2:]
		if strings.HasPrefix(next, "management.") || strings.HasPrefix(next, "logging.") {
			return i
		}
		from = i + 2
	}
}
