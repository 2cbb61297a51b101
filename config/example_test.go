package config_test

import (
	"fmt"
	"time"

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

func ExampleLoaded_Decode() {
	yaml := `
myapp:
  greeting: hello
  db:
    url: postgres://db:5432/shop
    maxConns: 10
    timeout: 2s
  hosts: [a, b]
`
	// The application's own section, as a typed struct. Keys that no field
	// names are errors; defaults are the values set before Decode.
	type DB struct {
		URL      string `mapstructure:"url"`
		Password string
		MaxConns int
		Timeout  time.Duration
	}
	type MyApp struct {
		Greeting string
		DB       DB `mapstructure:"db"`
		Hosts    []string
		Retries  int
	}

	loaded, err := config.Load(config.Options{
		Data: []byte(yaml),
		Env: []string{
			"MYAPP_DB_MAXCONNS=20",          // overrides myapp.db.maxConns
			"MYAPP_DB_PASSWORD=${DB_PW:pw}", // a field no file sets
			"MYAPP_HOSTS_0=c",               // items replace the list whole
			"PATH=/usr/bin",                 // no key: ignored
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := MyApp{Retries: 3}
	if err := loaded.Decode("myapp", &cfg); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %s %d %s %q %d\n", cfg.Greeting, cfg.DB.URL, cfg.DB.MaxConns, cfg.DB.Timeout, cfg.Hosts, cfg.Retries)
	fmt.Println(cfg.DB.Password)
	fmt.Println(loaded.Stream.Origins["myapp.db.maxconns"])

	bad, _ := config.Load(config.Options{Data: []byte("myapp:\n  db:\n    maxConns: ten\n    tmeout: 1s\n"), Env: []string{}})
	fmt.Println(bad.Decode("myapp", &cfg))
	// Output:
	// hello postgres://db:5432/shop 20 2s ["c"] 3
	// pw
	// env MYAPP_DB_MAXCONNS
	// invalid configuration (2 problems):
	//   - myapp.db.maxConns (application.yaml:3): expected an integer, got "ten"
	//   - myapp.db.tmeout (application.yaml:4): unknown key; did you mean timeout?
}

// An SCSt application.properties with a second document for a profile,
// and placeholders that refer to other keys.
func ExampleLoad_properties() {
	props := `spring.application.name=payments
spring.cloud.stream.bindings.chargePayment-in-0.destination=orders
spring.cloud.stream.bindings.chargePayment-in-0.group=${spring.application.name}
spring.cloud.stream.bindings.chargePayment-out-0.producer.required-groups[0]=audit
#---
spring.config.activate.on-profile=prod
spring.cloud.stream.bindings.chargePayment-in-0.consumer.max-attempts=5
`
	loaded, err := config.Load(config.Options{
		Data:     []byte(props),
		Name:     "application.properties",
		Profiles: []string{"prod"},
		Env:      []string{},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := loaded.Stream
	in := cfg.Binding("chargePayment-in-0")
	fmt.Println(in.Destination, in.Group, in.Consumer.MaxAttempts)
	fmt.Println(cfg.Binding("chargePayment-out-0").Producer.RequiredGroups)
	fmt.Println(cfg.Origins["stream.bindings.chargepayment-in-0.consumer.max-attempts"])
	// Output:
	// orders payments 5
	// [audit]
	// application.properties:7
}
