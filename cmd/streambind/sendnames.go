package main

import (
	"strings"
)

// renamedError is err with another text: the same error for errors.Is
// and errors.As.
type renamedError struct {
	text string
	err  error
}

func (e *renamedError) Error() string { return e.text }
func (e *renamedError) Unwrap() error { return e.err }

// sendNamed is err of a send through send's own binding (sendBinding,
// name), which the user never wrote, naming instead what they gave: the
// input binding r (--binding B: "(--binding B)"), or nothing for
// --destination and --exchange, whose destination the text names already
// (`rabbit: send to "nc1-shipments": ...`). It read
// `rabbit: send to "nc1-shipments" (binding streambind-send): ...`. Sent
// through an output binding (name is the user's), err is as it is.
func sendNamed(err error, name string, r *resolved) error {
	if err == nil || name != sendBinding || !strings.Contains(err.Error(), sendBinding) {
		return err
	}
	var repl []string
	if r != nil {
		l := "--binding " + r.bindingKey
		repl = []string{" (binding " + sendBinding + ")", " (" + l + ")", "binding " + sendBinding + ": ", l + ": ", "producer " + sendBinding + " ", "producer for " + l + " ", sendBinding, l}
	} else {
		repl = []string{" (binding " + sendBinding + ")", "", "binding " + sendBinding + ": ", "", "producer " + sendBinding + " ", "producer ", sendBinding, "send"}
	}
	return &renamedError{text: strings.NewReplacer(repl...).Replace(err.Error()), err: err}
}
