package stream_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A handler's error that quotes a secret (a DSN with its password) goes
// into the dead letter's x-exception-* headers redacted, as the log lines
// of the same failure are: the DLQ's readers (streambind dlq ls) saw the
// password in clear.
func TestDeadLetterHeadersRedacted(t *testing.T) {
	cause := errors.New("dial postgres://app:Hunter22Pw@db/x: password=Hunter22Pw refused")
	h := stream.DeadLetterHeaders(nil, stream.Permanent(fmt.Errorf("credit order 7: %w", cause)))
	for _, k := range []string{stream.HeaderExceptionMessage, stream.HeaderExceptionStacktrace} {
		if strings.Contains(h[k], "Hunter22Pw") {
			t.Errorf("%s holds the password: %q", k, h[k])
		}
		if !strings.Contains(h[k], "credit order 7") || !strings.Contains(h[k], "postgres://app:") {
			t.Errorf("%s lost the rest of the text: %q", k, h[k])
		}
	}
}
