package nats_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestKeyOverHeaderLimitSaysSo: NATS carries the message key in a header,
// and JetStream refuses a header block over 64 KiB. A send with a larger
// key fails for good, and its error says that the key is what took the
// room (the server's "header size exceeds maximum allowed of 64k" alone
// left a user who set no header puzzled).
func TestKeyOverHeaderLimitSaysSo(t *testing.T) {
	t.Parallel()
	b, _ := shared(t, nil)
	p := bindProducer(t, b, stream.ProducerSpec{Destination: unique(t, "bigkey")})
	m := msg("bigkey")
	m.Key = []byte(strings.Repeat("k", 70_000))
	err := p.Send(context.Background(), m)
	if err == nil {
		t.Fatal("a send with a 70,000-byte key succeeded; want JetStream's refusal")
	}
	if !stream.IsPermanent(err) {
		t.Errorf("error %v is not permanent: no retry can fix it", err)
	}
	for _, want := range []string{"message key (70000 bytes)", "x-streambind-key", "65535"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// A key that fits goes.
	m.Key = []byte(strings.Repeat("k", 1000))
	if err := p.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}
