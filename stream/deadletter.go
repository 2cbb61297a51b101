package stream

import (
	"errors"
	"fmt"
	"strings"
)

// DeadLetterHeaders returns a copy of the original headers plus the
// x-exception-* headers of CONVENTIONS.md describing err: the message, the
// error chain (one error per line, outermost first) and the Go type of the
// root cause. Binders add their x-original-* headers.
func DeadLetterHeaders(orig Headers, err error) Headers {
	h := make(Headers, len(orig)+6)
	for k, v := range orig {
		h[k] = v
	}
	if err == nil {
		err = errors.New("unknown error")
	}
	h[HeaderExceptionMessage] = err.Error()
	var chain strings.Builder
	root := err
	for e := err; e != nil; {
		fmt.Fprintf(&chain, "%T: %s\n", e, e.Error())
		root = e
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		case interface{ Unwrap() []error }:
			es := u.Unwrap()
			if len(es) == 0 {
				e = nil
			} else {
				e = es[0]
			}
		default:
			e = nil
		}
	}
	h[HeaderExceptionStacktrace] = strings.TrimSuffix(chain.String(), "\n")
	h[HeaderExceptionFQCN] = fmt.Sprintf("%T", root)
	return h
}

// DLQName is the dead-letter destination of a Kafka-style (and in-process)
// binder: error.<destination>.<group>.
func DLQName(destination, group string) string {
	return "error." + destination + "." + group
}
