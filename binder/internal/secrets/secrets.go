// Package secrets keeps a binder's configured secrets (passwords, tokens)
// out of the errors and log lines it writes: [Redact] and [RedactText]
// hide every secret ([redact.StringWith]: a short one only where it stands
// as a password, so that a one-letter password does not mangle the text)
// and what package redact recognises (URL passwords and the like), with
// redact.Redacted ("******").
//
// It is internal to the binders of this module.
package secrets

import (
	"fmt"

	"github.com/streambind/streambind/binder/internal/logtext"
	"github.com/streambind/streambind/redact"
)

// Placeholder is what stands in for a secret: [redact.Redacted], as
// everywhere else.
const Placeholder = redact.Redacted

// Redact returns err with its text redacted as [RedactText] does.
// errors.Is and errors.As still see the original chain. A nil err gives nil; an err whose
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

// RedactText returns msg with the secrets hidden as [redact.StringWith]
// hides them: one of at least 4 bytes wherever it occurs, a shorter one
// only where it stands as a password (URL user info, user:pw@host,
// password=pw), and URL passwords and the like whatever they are.
func RedactText(msg string, secrets []string) string {
	return redact.StringWith(msg, secrets...)
}

// Wrapf returns err wrapped with the context format gives (format+": %w"),
// its text redacted as [Redact] does; nil for a nil err.
func Wrapf(secrets []string, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return Redact(fmt.Errorf(format+": %w", append(args, err)...), secrets)
}

// LogText is err's text redacted as [RedactText] does and cut to
// logtext.Max bytes, for a log line (a handler's error can carry a whole
// payload); "" for a nil err.
func LogText(err error, secrets []string) string {
	if err == nil {
		return ""
	}
	return logtext.Bound(RedactText(err.Error(), secrets))
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
