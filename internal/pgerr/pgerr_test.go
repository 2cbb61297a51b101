package pgerr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestState(t *testing.T) {
	err := fmt.Errorf("insert: %w", &pgconn.PgError{Code: "42P01"})
	if got := State(err); got != "42P01" {
		t.Errorf("State = %q, want 42P01", got)
	}
	if got := State(errors.New("no state")); got != "" {
		t.Errorf("State of a plain error = %q, want \"\"", got)
	}
	for code, want := range map[string]bool{"42P01": true, "3F000": true, "42703": false, "": false} {
		if got := MissingTable(code); got != want {
			t.Errorf("MissingTable(%q) = %v, want %v", code, got, want)
		}
	}
}
