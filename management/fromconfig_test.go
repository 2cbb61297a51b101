package management_test

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
)

// A newcomer's binding settings pasted under management.server gave
// "management configuration: management.server.reservestock-in-0.binder:
// unknown key": no file:line (lint had application.yaml:N) and the name
// lower-cased. FromConfig reports each problem as the loader reports the
// stream section's: the key as the file writes it, with file:line, every
// problem of the section at once.
func TestFromConfigNamesKeyAsWrittenAndLine(t *testing.T) {
	const yaml = `management:
  server:
    address: 127.0.0.1:0
    reserveStock-in-0:
      binder: rabbit
    read-timeout: soon
`
	l, err := config.Load(config.Options{Data: []byte(yaml), Env: []string{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = management.FromConfig(l.Raw, l.Problem)
	var ces stream.ConfigErrors
	if !errors.As(err, &ces) || len(ces) != 2 {
		t.Fatalf("FromConfig: %v; want 2 problems", err)
	}
	if ces[0].Path != "management.server.read-timeout" || ces[0].Origin != "application.yaml:6" {
		t.Errorf("first problem %q at %q, want management.server.read-timeout at application.yaml:6", ces[0].Path, ces[0].Origin)
	}
	if ces[1].Path != "management.server.reserveStock-in-0.binder" || ces[1].Origin != "application.yaml:5" || ces[1].Msg != "unknown key" {
		t.Errorf("second problem %v, want management.server.reserveStock-in-0.binder (application.yaml:5): unknown key", ces[1])
	}
	// ConfigFrom, for a tree without origins, keeps its one error.
	if _, err := management.ConfigFrom(l.Raw); err == nil || errors.As(err, &ces) {
		t.Errorf("ConfigFrom: %v; want its plain error", err)
	}
}

// TestFromConfigNilProblem: FromConfig without a problem function (a tree
// without origins) reports the keys as raw has them, where it panicked.
func TestFromConfigNilProblem(t *testing.T) {
	raw := map[string]any{"management": map[string]any{"server": map[string]any{"read-timeout": "soon"}}}
	_, err := management.FromConfig(raw, nil)
	var ces stream.ConfigErrors
	if !errors.As(err, &ces) || len(ces) != 1 || ces[0] == nil || ces[0].Path != "management.server.read-timeout" || ces[0].Origin != "" {
		t.Fatalf("FromConfig(raw, nil): %v; want one problem at management.server.read-timeout", err)
	}
}
