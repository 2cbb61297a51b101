package kafka

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// TestRetriableConnectionAborted: a connection the local stack aborted
// (ECONNABORTED: "software caused connection abort", what a socket
// destroyed under the client — ss -K, a conntrack flush, Windows'
// WSAECONNABORTED on a network change — reads and writes) is a dropped
// connection like a reset, retried by the produce loop. Found by the soak
// trial: such a drop failed Bridge.Send at once with the error instead of
// being retried (the docs: dropped connections are retried with back-off).
func TestRetriableConnectionAborted(t *testing.T) {
	for _, op := range []string{"read", "write"} {
		for _, errno := range []syscall.Errno{syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPIPE} {
			err := &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, errno)}
			if !retriable(err) {
				t.Errorf("retriable(%v) = false, want true", err)
			}
		}
	}
}
