package sectionerr

import (
	"errors"
	"testing"

	"github.com/streambind/streambind/stream"
)

func TestNoProblemsIsNilError(t *testing.T) {
	// A typed nil (stream.ConfigErrors(nil)) in an error would be non-nil.
	if err := Errors(nil, nil); err != nil {
		t.Fatalf("Errors(nil) = %#v, want nil", err)
	}
	if err := Joined("x", nil); err != nil {
		t.Fatalf("Joined(nil) = %#v, want nil", err)
	}
}

func TestProblemsSortedAndReported(t *testing.T) {
	ps := []Problem{{"b.k", "m2"}, {"a.k", "z"}, {"b.k", "m1"}}
	Sort(ps)
	want := []Problem{{"a.k", "z"}, {"b.k", "m1"}, {"b.k", "m2"}}
	for i := range want {
		if ps[i] != want[i] {
			t.Fatalf("sorted %v, want %v", ps, want)
		}
	}
	if got := Joined("management", ps).Error(); got != "management configuration: a.k: z; b.k: m1; b.k: m2" {
		t.Fatalf("Joined = %q", got)
	}
	err := Errors(ps, func(path, msg string) *stream.ConfigError {
		return &stream.ConfigError{Path: "file:" + path, Msg: msg}
	})
	var ces stream.ConfigErrors
	if !errors.As(err, &ces) || len(ces) != 3 || ces[0].Path != "file:a.k" || ces[2].Msg != "m2" {
		t.Fatalf("Errors = %#v", err)
	}
	err = Errors(ps[:1], nil)
	if !errors.As(err, &ces) || ces[0].Path != "a.k" {
		t.Fatalf("Errors with nil problem = %#v", err)
	}
}
