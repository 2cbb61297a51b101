// Package secrets keeps a binder's configured secrets (passwords, tokens)
// out of the errors and log lines it writes: [Redact] and [RedactText]
// replace every secret with "[redacted]" and then remove what package
// redact recognises (URL passwords and the like).
//
// It is internal to the binders of this module.
package secrets

import (
	"strings"

	"github.com/streambind/streambind/redact"
)

// Placeholder is what stands in for a secret.
const Placeholder = "[redacted]"

// Redact returns err with every non-empty secret replaced by "[redacted]"
// in its text and URL passwords removed (package redact). errors.Is and
// errors.As still see the original chain. A nil err gives nil; an err whose
// text holds nothing to redact is returned as it is.
func Redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := RedactText(err.Error(), secrets)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// RedactText returns msg with every non-empty secret replaced by
// "[redacted]" and URL passwords removed (package redact).
func RedactText(msg string, secrets []string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, Placeholder)
		}
	}
	return redact.String(msg)
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
