package rabbit

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestDecimalHeaderText: an AMQP decimal header (another client's) reaches
// the function as the number it is, not as Go prints the struct ("{2 150}").
func TestDecimalHeaderText(t *testing.T) {
	for _, tc := range []struct {
		d    amqp.Decimal
		want string
	}{
		{amqp.Decimal{Scale: 2, Value: 150}, "1.50"},
		{amqp.Decimal{Scale: 0, Value: 42}, "42"},
		{amqp.Decimal{Scale: 3, Value: 5}, "0.005"},
		{amqp.Decimal{Scale: 2, Value: -150}, "-1.50"},
		{amqp.Decimal{Scale: 1, Value: -2147483648}, "-214748364.8"},
	} {
		env := fromDelivery(&amqp.Delivery{Headers: amqp.Table{"d": tc.d}})
		if got := env.Headers["d"]; got != tc.want {
			t.Errorf("%+v: header %q, want %q", tc.d, got, tc.want)
		}
	}
}
