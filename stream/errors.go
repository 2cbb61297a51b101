package stream

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// ErrNak, returned (wrapped) by a [Handler], asks the binder to leave the
// message for redelivery: neither acknowledge nor dead-letter it. The core
// returns it when shutdown interrupts a handler or its retries.
var ErrNak = errors.New("stream: nak: message left for redelivery")

// Skip, returned by a function or supplier, means "no output": nothing is
// sent and the input is acknowledged.
//
//lint:ignore ST1012 docs/conventions.md names it stream.Skip, like io.EOF it is a signal, not a failure.
var Skip = errors.New("stream: skip: no output")

// PermanentError marks an error that retrying cannot fix. The remaining
// attempts are skipped and the message goes straight to the DLQ (or is
// dropped).
//
// It is a marker: its text is Err's, without a word of its own, so that
// logs, CLI errors and a dead letter's x-exception-* headers read as the
// error (SCSt has no such wrapper: a non-retryable exception is the
// exception). [IsPermanent] and errors.As tell it.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string {
	if e.Err == nil {
		return "permanent error"
	}
	return e.Err.Error()
}
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that it is not retried. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err (or an error it wraps) is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// ConversionError is a failure to decode or encode a payload. The
// framework's conversions return it wrapped in [Permanent], so that it is
// not retried; a ConversionError made elsewhere is permanent only when
// wrapped so too ([IsPermanent] of a bare one is false). A dead letter of one is named *stream.ConversionError in
// x-exception-fqcn, whatever error of the converter it wraps (as SCSt's
// is org.springframework.messaging.converter.MessageConversionException),
// so that a DLQ router tells conversion failures from handler errors. A converter's panic (a type's MarshalJSON or UnmarshalJSON,
// say) is one too, not a retried handler panic: its Err reads "panic: ..."
// and wraps the [*PanicError].
type ConversionError struct {
	Binding     string // binding name
	ContentType string
	Type        string // the Go type converted from or to
	Decode      bool   // true: bytes → value; false: value → bytes
	Err         error
}

// Error reads "binding B: cannot decode CT as T: err", leaving out what
// is not set ("cannot encode the payload" when nothing is); a nil
// *ConversionError (Permanent((*ConversionError)(nil))) has a text too.
func (e *ConversionError) Error() string {
	if e == nil {
		return "cannot convert the payload (nil *stream.ConversionError)"
	}
	var b strings.Builder
	if e.Binding != "" {
		b.WriteString("binding " + e.Binding + ": ")
	}
	if e.Decode {
		b.WriteString("cannot decode ")
	} else {
		b.WriteString("cannot encode ")
	}
	if e.ContentType != "" {
		b.WriteString(e.ContentType)
	} else {
		b.WriteString("the payload")
	}
	if e.Type != "" {
		b.WriteString(" as " + e.Type)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *ConversionError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// ConfigError is one configuration problem: the key path, where it was set
// (file:line, when known) and what is wrong.
type ConfigError struct {
	// Path is the key in streambind's canonical spelling
	// (stream.bindings.process-in-0.consumer.max-attempts): lower-case
	// kebab-case keys under the stream root, names (bindings, binders)
	// as the files spell them. A program matches problems on Path.
	Path string
	// Key is the key as the configuration wrote it where Origin says
	// (spring.cloud.stream.bindings.process-in-0.consumer.maxAttempts in
	// a YAML file, a .properties line's key, max_attempts), when that
	// differs from Path; else "". For a value a binding inherits from
	// stream.default it is the key written there. Error shows Key in
	// place of Path, so that the key is found in the file; a variable's
	// Origin names the variable itself (env NAME) and Key is "".
	Key    string
	Origin string
	Msg    string
	// UnknownKey is set when the key at Path is not one its section has
	// at all (unknown, or removed), as opposed to a key whose value is
	// refused: the app checks a binder type's section of a binding on a
	// binder of another type for these only (see binder/props.UnknownKey,
	// props.RemovedKey).
	UnknownKey bool
}

func (e *ConfigError) Error() string {
	key := e.Shown()
	switch {
	case key == "" && e.Origin == "":
		return e.Msg
	case key == "":
		return fmt.Sprintf("%s: %s", e.Origin, e.Msg)
	case e.Origin != "":
		return fmt.Sprintf("%s (%s): %s", key, e.Origin, e.Msg)
	}
	return fmt.Sprintf("%s: %s", key, e.Msg)
}

// Shown is the key a message about e names: Key, as the configuration
// wrote it, when set, else Path.
func (e *ConfigError) Shown() string {
	if e.Key != "" && e.Path != "" {
		return e.Key
	}
	return e.Path
}

// ConfigErrors collects every configuration problem found; its Error lists
// them one per line.
type ConfigErrors []*ConfigError

func (es ConfigErrors) Error() string {
	s := fmt.Sprintf("invalid configuration (%d problem", len(es))
	if len(es) != 1 {
		s += "s"
	}
	s += "):"
	for _, e := range es {
		s += "\n  - " + e.Error()
	}
	return s
}

// Err returns es as an error, or nil if empty.
func (es ConfigErrors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// maxLoggedError bounds the error text of a log line about one message: a
// handler's error may carry a whole payload, and a log line is no place
// for it (the dead letter keeps the text, fitted to its broker's limits).
const maxLoggedError = 2048

// boundedErr is err's text for a log line, cut to maxLoggedError bytes.
func boundedErr(err error) slog.Value {
	if err == nil {
		return slog.StringValue("")
	}
	s := err.Error()
	if len(s) <= maxLoggedError {
		return slog.StringValue(s)
	}
	cut := truncateUTF8(s, maxLoggedError)
	return slog.StringValue(cut + "…[" + strconv.Itoa(len(s)-len(cut)) + " bytes cut]")
}
