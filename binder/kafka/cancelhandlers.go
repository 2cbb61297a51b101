package kafka

import "github.com/streambind/streambind/binder/internal/lifecycle"

var _ lifecycle.HandlerCanceler = (*run)(nil)

// CancelHandlers implements [lifecycle.HandlerCanceler]: it cancels the
// handlers' context, which a Stop's lifecycle does shortly before the
// Stop's deadline, so that a handler that honours it returns (its message
// left uncommitted, for the next owner) while there is time left to
// commit what was handled and leave the group.
func (r *run) CancelHandlers() { r.hcancel() }
