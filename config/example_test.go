package config_test

import (
	"fmt"

	"github.com/streambind/streambind/config"
)

func ExampleLoad() {
	yaml := `
stream:
  function:
    definition: chargePayment
  bindings:
    chargePayment-in-0:
      destination: orders
      group: payment
      consumer: { maxAttempts: 5, back-off-initial-interval: 250 }
`
	loaded, err := config.Load(config.Options{
		Data: []byte(yaml),
		Env:  []string{"STREAM_BINDINGS_CHARGEPAYMENT_IN_0_GROUP=billing"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := loaded.Stream
	b := cfg.Binding("chargePayment-in-0")
	fmt.Println(cfg.Function.Definition)
	fmt.Println(b.Destination, b.Group, b.Binder, b.Consumer.MaxAttempts, b.Consumer.BackOffInitialInterval)
	fmt.Println(cfg.Origins["stream.bindings.chargepayment-in-0.group"])
	fmt.Println(cfg.Origins["stream.bindings.chargepayment-in-0.consumer.max-attempts"])

	_, err = config.Load(config.Options{Data: []byte("stream:\n  bindings:\n    x-in-0: { grup: a }\n"), Env: []string{}})
	fmt.Println(err)
	// Output:
	// chargePayment
	// orders billing memory 5 250ms
	// env STREAM_BINDINGS_CHARGEPAYMENT_IN_0_GROUP
	// application.yaml:9
	// invalid configuration (1 problem):
	//   - stream.bindings.x-in-0.grup (application.yaml:3): unknown key; did you mean group?
}
