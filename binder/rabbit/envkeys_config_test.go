package rabbit

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

// envBase is an SCSt application.yaml with one consumer binding,
// shipOrder-in-0, on the rabbit binder; more may follow it.
const envBase = `spring:
  cloud:
    stream:
      default-binder: rabbit
      function:
        definition: shipOrder
      bindings:
        shipOrder-in-0:
          destination: orders
          group: shipping
`

// envConfig loads yaml with the environment variables env, as an app does.
func envConfig(t *testing.T, yaml string, env ...string) *stream.Config {
	t.Helper()
	return bindertest.LoadConfig(t, yaml, env...)
}

// envAppErr builds (does not run) the app of yaml and env with the rabbit
// binder, which checks the binder's settings and every binding's, and
// returns its error as lint shows it (key path and origin).
func envAppErr(t *testing.T, yaml string, env ...string) error {
	t.Helper()
	cfg := envConfig(t, yaml, env...)
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "shipOrder", func(_ context.Context, in string) (string, error) { return in, nil })
	_, err := stream.NewApp(cfg, fns, stream.WithBinderType(Type, New))
	return err
}

const envBinding = "SPRING_CLOUD_STREAM_RABBIT_BINDINGS_SHIPORDER_IN_0_"

// TestEnvNestedBindingKeys: SCSt's nested queue properties set by
// environment variables (Spring's relaxed binding: '_' is '.', dashes
// dropped), as a Kubernetes manifest sets them, are read at binding and
// default level, consumer and producer, with no file declaring the
// section. Before, the config loader's flat quorum-enabled,
// quorum-deliverylimit ... were each "unknown key".
func TestEnvNestedBindingKeys(t *testing.T) {
	cfg := envConfig(t, envBase,
		envBinding+"CONSUMER_QUORUM_ENABLED=true",
		envBinding+"CONSUMER_QUORUM_DELIVERYLIMIT=5",
		envBinding+"CONSUMER_QUORUM_INITIAL_GROUP_SIZE=3",
		envBinding+"CONSUMER_DLQ_QUORUM_ENABLED=true",
		"SPRING_CLOUD_STREAM_RABBIT_DEFAULT_CONSUMER_DLQQUORUM_DELIVERYLIMIT=7",
		"SPRING_CLOUD_STREAM_RABBIT_BINDINGS_SHIPORDER_OUT_0_PRODUCER_QUORUM_ENABLED=yes",
	)
	cons, _ := cfg.Extension(Type, "shipOrder-in-0")
	o, err := parseConsumerOptions("shipOrder-in-0", 1, cons)
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	q, dlq := o.queue.quorum, o.dlq.quorum
	if !q.enabled || q.deliveryLimit == nil || *q.deliveryLimit != 5 || q.initialGroupSize == nil || *q.initialGroupSize != 3 {
		t.Errorf("queue's quorum: %+v", q)
	}
	if !dlq.enabled || dlq.deliveryLimit == nil || *dlq.deliveryLimit != 7 {
		t.Errorf("DLQ's quorum (enabled by the binding, delivery-limit by the default): %+v", dlq)
	}
	_, prod := cfg.Extension(Type, "shipOrder-out-0")
	p, err := parseProducerOptions("shipOrder-out-0", prod)
	if err != nil || !p.queue.quorum.enabled {
		t.Errorf("producer: %v %+v", err, p.queue.quorum)
	}
	if err := envAppErr(t, envBase, envBinding+"CONSUMER_QUORUM_ENABLED=true", envBinding+"CONSUMER_QUORUM_DELIVERYLIMIT=5"); err != nil {
		t.Errorf("the app refuses the variables: %v", err)
	}
}

// TestEnvOverridesNestedYAML: a variable overrides the value a file gives
// the nested key, whether the file sets it for the binding or as the
// default of every binding; before, the binding's variable was an
// "unknown key" when the file set the section in the default only.
func TestEnvOverridesNestedYAML(t *testing.T) {
	for name, yaml := range map[string]string{
		"default": envBase + `      rabbit:
        default:
          consumer:
            quorum:
              enabled: true
              delivery-limit: 3
`,
		"binding": envBase + `      rabbit:
        bindings:
          shipOrder-in-0:
            consumer:
              quorum:
                enabled: true
                deliveryLimit: 3
`,
		"bool": envBase + `      rabbit:
        default:
          consumer:
            quorum: true
`,
	} {
		cfg := envConfig(t, yaml, envBinding+"CONSUMER_QUORUM_DELIVERYLIMIT=5")
		cons, _ := cfg.Extension(Type, "shipOrder-in-0")
		o, err := parseConsumerOptions("shipOrder-in-0", 1, cons)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if q := o.queue.quorum; !q.enabled || q.deliveryLimit == nil || *q.deliveryLimit != 5 {
			t.Errorf("%s: quorum %+v, want enabled with delivery-limit 5 (the variable's)", name, q)
		}
	}
}

// TestEnvNestedKeyErrors: a wrong sub-key given by a variable is reported
// at the key as the variable spells it, with the variable's name, the
// sub-key meant and the section's keys; before, it was an "unknown key"
// listing the binding's keys. Keys of the argument maps (names of the
// user's own, which a variable cannot spell) are refused saying how to set
// them, and a variable still overrides a key the file gives such a map.
func TestEnvNestedKeyErrors(t *testing.T) {
	err := envAppErr(t, envBase, envBinding+"CONSUMER_QUORUM_DELIVERYLIMT=5")
	for _, want := range []string{
		"stream.rabbit.bindings.shipOrder-in-0.consumer.quorum-deliverylimt",
		"env " + envBinding + "CONSUMER_QUORUM_DELIVERYLIMT",
		"did you mean delivery-limit?",
		"quorum accepts enabled, delivery-limit, initial-group-size",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}

	err = envAppErr(t, envBase, "SPRING_CLOUD_STREAM_RABBIT_BINDER_TLS_SERVERNAM=x")
	for _, want := range []string{
		"stream.rabbit.binder.tls-servernam", "env SPRING_CLOUD_STREAM_RABBIT_BINDER_TLS_SERVERNAM",
		"did you mean server-name?", "tls accepts enabled, ca-file",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}

	err = envAppErr(t, envBase, envBinding+"CONSUMER_QUEUE_BINDING_ARGUMENTS_X_MATCH=all")
	for _, want := range []string{
		"consumer.queue-binding-arguments-x-match", "env " + envBinding + "CONSUMER_QUEUE_BINDING_ARGUMENTS_X_MATCH",
		"the keys of queue-binding-arguments are names of your own",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	cfg := envConfig(t, envBase+`      rabbit:
        bindings:
          shipOrder-in-0:
            consumer:
              exchange-type: headers
              queue-binding-arguments:
                x-match: any
`, envBinding+"CONSUMER_QUEUE_BINDING_ARGUMENTS_X_MATCH=all")
	cons, _ := cfg.Extension(Type, "shipOrder-in-0")
	if o, err := parseConsumerOptions("shipOrder-in-0", 1, cons); err != nil || o.queueBindingArgs["x-match"] != "all" || len(o.queueBindingArgs) != 1 {
		t.Errorf("the variable overriding the file's x-match: %v %v", err, o.queueBindingArgs)
	}

	err = envAppErr(t, envBase, envBinding+"CONSUMER_ALTERNATE_EXCHANGE_EXISTS=true", envBinding+"CONSUMER_ALTERNATE_EXCHANGE_TYPE=topic")
	for _, key := range []string{"EXISTS", "TYPE"} {
		want := "consumer.alternate-exchange-" + strings.ToLower(key) + " (env " + envBinding + "CONSUMER_ALTERNATE_EXCHANGE_" + key + "): alternate exchanges are not supported"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("alternate exchange by a variable: error does not say %q: %v", want, err)
		}
	}
}

// TestEnvNestedBinderKeys: the binder's tls section set by variables,
// SCSt's and Spring Boot's; before, tls-enabled was an "unknown key".
func TestEnvNestedBinderKeys(t *testing.T) {
	cfg := envConfig(t, envBase, "SPRING_CLOUD_STREAM_RABBIT_BINDER_TLS_ENABLED=true",
		"SPRING_CLOUD_STREAM_RABBIT_BINDER_TLS_SERVERNAME=rabbit.example", "SPRING_RABBITMQ_SSL_ENABLED=true")
	s, err := parseSettings(stream.BinderSettingsOf(cfg, Type))
	if err != nil {
		t.Fatal(err)
	}
	if !s.tls.enabled || s.tls.serverName != "rabbit.example" || !s.endpoints[0].tls {
		t.Errorf("tls: %+v", s.tls)
	}
}
