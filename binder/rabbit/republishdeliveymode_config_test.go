package rabbit

import "testing"

// TestRepublishDeliveyModeSpelling: SCSt's RabbitConsumerProperties has
// the field and setter republishDeliveyMode (sic), so republish-delivey-mode
// is the key Spring Boot binds in an SCSt file; it is accepted with the
// meaning of republish-delivery-mode, in every relaxed spelling, so that
// such a file runs unchanged. Before, it was refused as an unknown key
// ("did you mean republish-delivery-mode?").
func TestRepublishDeliveyModeSpelling(t *testing.T) {
	for _, key := range []string{"republish-delivey-mode", "republishDeliveyMode", "republish_delivey_mode", "republish-delivery-mode"} {
		o, err := parseConsumerOptions("c-in-0", 1, map[string]any{key: "NON_PERSISTENT"})
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if !o.republishTransient {
			t.Errorf("%s: NON_PERSISTENT did not make the dead letters transient", key)
		}
		if o, err := parseConsumerOptions("c-in-0", 1, map[string]any{key: "PERSISTENT"}); err != nil || o.republishTransient {
			t.Errorf("%s: PERSISTENT: %v, transient %v", key, err, o.republishTransient)
		}
	}
	if _, err := parseConsumerOptions("c-in-0", 1, map[string]any{"republish-delivey-mode": "sometimes"}); err == nil {
		t.Error("republish-delivey-mode: sometimes accepted")
	}
}
