package stream

// SendStats counts what an output binding's binder tells of its sends
// beyond success and failure; see [SendReporter].
type SendStats struct {
	// Duplicates counts sends the broker acknowledged as a duplicate of a
	// message it already had, and did not store again: on NATS JetStream
	// a PubAck with duplicate: true, for a message whose Nats-Msg-Id (the
	// id header) the stream saw within its duplicate-window. The binder's
	// own retry of a send whose acknowledgement was lost is not counted:
	// that duplicate is the de-duplication working as meant.
	Duplicates int64 `json:"duplicates"`
}

// SendReporter is implemented by producer bindings whose binder reports
// [SendStats].
type SendReporter interface {
	SendStats() SendStats
}

// SendStats returns the send counters of the binding's producer (see
// [SendReporter]); zero for an input binding and for binders that do not
// report them.
func (b *Binding) SendStats() SendStats {
	b.mu.Lock()
	p := b.producer
	b.mu.Unlock()
	if r, ok := p.(SendReporter); ok {
		return r.SendStats()
	}
	return SendStats{}
}
