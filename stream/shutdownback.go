package stream

import (
	"errors"
	"fmt"
)

// errBehindGivenBack is the result of a message that a binding did not
// hand to its function because an earlier message of the binding was
// given back unhandled once the app began to shut down (see
// runtimeBinding.givenBack): it is given back too (ErrNak), and the
// binder knows it is given back for the shutdown (ErrStopping).
var errBehindGivenBack = fmt.Errorf("%w: %w: not handled: an earlier message of the binding was given back unhandled at shutdown, and it must not overtake that one", ErrNak, ErrStopping)

// shuttingDown reports whether the app began its shutdown.
func (rt *runtimeBinding) shuttingDown() bool {
	select {
	case <-rt.stopping:
		return true
	default:
		return false
	}
}

// givenBack looks at the result err of a message (one, or a batch's) of
// the binding: once the app began to shut down, a message left for
// redelivery (ErrNak: its back-off cut short by the shutdown, its output
// waiting for a stopped output, a Nak of its own) is given back
// unhandled, and the messages the binder still holds behind it in its
// partition, key or queue must not be handled before it comes again — they
// would overtake it (a binder that goes on with the next held message of
// a lane after a Nak: NATS). So from then on the binding hands no message
// to its function (heldBack): each is given back at once
// (errBehindGivenBack). The binding is not lane-aware here: at shutdown,
// the messages of other lanes not yet begun are given back as well, and
// come again after the restart. A single message's err gets ErrStopping in
// its chain, so that its binder gives it back at once rather than after
// redelivery-delay (it is not failing: the shutdown ended its handling).
func (rt *runtimeBinding) givenBack(err error, one bool) error {
	if err == nil || !errors.Is(err, ErrNak) || !rt.shuttingDown() {
		return err
	}
	if rt.in.shutBack.CompareAndSwap(false, true) {
		rt.log.Info("a message was given back unhandled at shutdown; the binding's later messages are given back unhandled too, so that none overtakes it",
			"error", boundedErr(err))
	}
	if one && !errors.Is(err, ErrStopping) {
		err = fmt.Errorf("%w (%w)", err, ErrStopping)
	}
	return err
}

// heldBack reports whether the binding gives back every message unhandled
// (see givenBack).
func (rt *runtimeBinding) heldBack() bool { return rt.in.shutBack.Load() }
