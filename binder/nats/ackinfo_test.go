package nats

import (
	"strconv"
	"testing"
	"time"
)

// ackInfo reads what jetstream.Msg.Metadata reads, from both forms of ack
// subject, and refuses what is not one.
func TestAckInfo(t *testing.T) {
	ts := time.Date(2026, 12, 1, 10, 0, 0, 123, time.UTC)
	tm := strconv.FormatInt(ts.UnixNano(), 10)
	for _, tc := range []struct {
		reply          string
		delivered, seq uint64
		ok             bool
	}{
		{"$JS.ACK.ORDERS.g.3.1042.77." + tm + ".5", 3, 1042, true},
		{"$JS.ACK._.ACCHASH.ORDERS.g.2.9.8." + tm + ".0.rnd", 2, 9, true},
		{"$JS.ACK.hub.ACCHASH.ORDERS.g.1.18446744073709551615.8." + tm + ".0", 1, 18446744073709551615, true},
		{"$JS.ACK.ORDERS.g.1.2.3", 0, 0, false},                   // too few tokens
		{"$JS.ACK.a.b.ORDERS.g.1.2.3." + tm, 0, 0, false},         // 10 tokens
		{"_INBOX.x.ORDERS.g.3.1042.77." + tm + ".5", 0, 0, false}, // not an ack subject
		{"", 0, 0, false},
	} {
		d, seq, at, ok := ackInfo(tc.reply)
		if ok != tc.ok || d != tc.delivered || seq != tc.seq {
			t.Errorf("ackInfo(%q) = %d, %d, %v; want %d, %d, %v", tc.reply, d, seq, ok, tc.delivered, tc.seq, tc.ok)
		}
		if ok && !at.Equal(ts) {
			t.Errorf("ackInfo(%q) time %v, want %v", tc.reply, at, ts)
		}
	}
}
