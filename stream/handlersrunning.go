package stream

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// handlersRunningError is a shutdown's error for the input bindings whose
// handlers were still running when the shutdown's time was up (their
// BindingStats.InFlight): it names them, with their binders, as their
// Stop errors' texts (the binders') say what becomes of the messages.
type handlersRunningError struct {
	timeout  time.Duration
	bindings []string // "name (binder <name>[: what becomes of the message])"
	names    []string
}

func (e *handlersRunningError) Error() string {
	return fmt.Sprintf("handlers still running at the end of the shutdown timeout (%s) in %s", e.timeout, strings.Join(e.bindings, ", "))
}

// handlersRunning returns a *handlersRunningError naming the input
// bindings with messages still in handling, nil when there are none.
func (a *App) handlersRunning() error {
	e := &handlersRunningError{timeout: a.shutdownTimeout()}
	for _, b := range a.bindings {
		if !b.input || b.Stats().InFlight == 0 {
			continue
		}
		what := "binding " + b.name + " (binder " + b.binderName
		if b.binderType == DefaultBinderType {
			// The in-process broker lives in this process: a message
			// given back after it ends is not redelivered.
			what += ": the in-process binder cannot redeliver its messages once the process ends; they are lost"
		}
		e.bindings = append(e.bindings, what+")")
		e.names = append(e.names, b.name)
	}
	if len(e.names) == 0 {
		return nil
	}
	return e
}

// shutdownAttrs are the attributes of the log line of an incomplete
// shutdown beyond its error: the bindings whose handlers still ran.
func shutdownAttrs(err error) []any {
	var hr *handlersRunningError
	if errors.As(err, &hr) {
		return []any{"handlers_running", strings.Join(hr.names, ",")}
	}
	return nil
}
