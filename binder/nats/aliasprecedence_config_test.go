package nats

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
)

// TestAliasFollowsPrecedence: an environment variable that sets a
// consumer's max-deliveries overrides the file's max-deliver (its alias),
// and one that sets the stream's max-messages the file's max-msgs, as
// under the same name. Before, the consumer's two keys were refused as
// both set, and the stream took the key that sorted last (the file's).
func TestAliasFollowsPrecedence(t *testing.T) {
	yaml := envBase + `      nats:
        binder: { stream: { max-msgs: 10 } }
        bindings:
          orders-in-0: { consumer: { max-deliver: 3 } }
`
	cfg := bindertest.LoadConfig(t, yaml, "SPRING_CLOUD_STREAM_NATS_BINDINGS_ORDERS_IN_0_CONSUMER_MAX_DELIVERIES=7")
	cons, _ := cfg.Extension(Type, "orders-in-0")
	c, err := parseConsumer("orders-in-0", cons)
	if err != nil || c.maxDeliver != 7 {
		t.Errorf("max-deliver %d (want the variable's 7), err %v", c.maxDeliver, err)
	}
	st, err := envSettings(t, yaml, "SPRING_CLOUD_STREAM_NATS_BINDER_STREAM_MAXMESSAGES=99")
	if err != nil || st.stream.maxMsgs != 99 {
		t.Errorf("stream max-msgs %d (want the variable's 99), err %v", st.stream.maxMsgs, err)
	}
}
