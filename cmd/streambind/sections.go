package main

import (
	"errors"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/telemetry"
)

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

// telemetrySectionErrors decodes logging.* (and management.tracing.*) as
// an app does (telemetry.FromConfig): each problem with its key as
// written and its file:line.
func telemetrySectionErrors(l *config.Loaded) stream.ConfigErrors {
	_, err := telemetry.FromConfig(l.Raw, l.Problem)
	var ces stream.ConfigErrors
	if errors.As(err, &ces) {
		return ces
	}
	return nil
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
