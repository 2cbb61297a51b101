// Package logtext bounds the error texts binders put in log lines about
// one message. A handler's error can carry a whole payload (a 2 MB
// validation report); the core cuts such a text to 2 KiB in its own lines
// (stream's maxLoggedError), and a binder's line about the same failure
// (a dead letter or a parked retry that could not be sent) must not print
// it whole either. The dead letter keeps the text, fitted to the broker.
//
// It is internal to the binders of this module.
package logtext

import (
	"strconv"
	"unicode/utf8"
)

// Max is the most bytes of an error text a log line carries, as the
// core's.
const Max = 2048

// Bound returns s cut to Max bytes (not splitting a UTF-8 sequence),
// ending in "…[N bytes cut]" when it was cut.
func Bound(s string) string {
	if len(s) <= Max {
		return s
	}
	n := Max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…[" + strconv.Itoa(len(s)-n) + " bytes cut]"
}

// Error is Bound of err's text ("" for nil).
func Error(err error) string {
	if err == nil {
		return ""
	}
	return Bound(err.Error())
}
