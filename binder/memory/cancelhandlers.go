package memory

import "github.com/streambind/streambind/binder/internal/lifecycle"

var _ lifecycle.HandlerCanceler = (*run)(nil)

// CancelHandlers implements [lifecycle.HandlerCanceler]: it cancels the
// handlers' context, which a Stop's lifecycle does shortly before the
// Stop's deadline, so that a handler that honours it returns and its
// message is Nak'ed while there is time left.
func (r *run) CancelHandlers() { r.cancel() }
