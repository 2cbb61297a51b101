package redis

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
)

// TestAliasFollowsPrecedence: an environment variable that sets a binder
// setting under one of its names overrides the file's value under another
// (max-length over maxlen, max-deliveries over max-deliver), as it does
// under the same name. Before, the binder got both keys and took the one
// that sorted last: the file's maxlen beat the variable's MAX_LENGTH, and
// max-deliver and max-deliveries from two sources were refused as both
// set.
func TestAliasFollowsPrecedence(t *testing.T) {
	yaml := envBase + `      redis:
        binder: { maxlen: 500 }
        bindings:
          orders-in-0: { consumer: { max-deliver: 3 } }
`
	st, err := envSettings(t, yaml, "SPRING_CLOUD_STREAM_REDIS_BINDER_MAX_LENGTH=1000")
	if err != nil || st.maxLength != 1000 {
		t.Errorf("max-length %d (want the variable's 1000), err %v", st.maxLength, err)
	}
	cfg := bindertest.LoadConfig(t, yaml, "SPRING_CLOUD_STREAM_REDIS_BINDINGS_ORDERS_IN_0_CONSUMER_MAX_DELIVERIES=7")
	cons, _ := cfg.Extension(Type, "orders-in-0")
	c, err := parseConsumer("orders-in-0", cons)
	if err != nil || c.maxDeliveries != 7 {
		t.Errorf("max-deliveries %d (want the variable's 7), err %v", c.maxDeliveries, err)
	}
}

// TestBindingAliasBeatsDefault: a binding's own max-deliveries replaces
// the default section's max-deliver (its alias), as under the same name.
// Before, the binder got both and refused them as both set.
func TestBindingAliasBeatsDefault(t *testing.T) {
	cfg := bindertest.LoadConfig(t, envBase+`      redis:
        default: { consumer: { max-deliver: 3, prefetch: 16 } }
        bindings:
          orders-in-0: { consumer: { max-deliveries: 7 } }
`)
	cons, _ := cfg.Extension(Type, "orders-in-0")
	c, err := parseConsumer("orders-in-0", cons)
	if err != nil || c.maxDeliveries != 7 || c.prefetch != 16 {
		t.Errorf("max-deliveries %d (want the binding's 7), prefetch %d (want the default's 16), err %v", c.maxDeliveries, c.prefetch, err)
	}
}
