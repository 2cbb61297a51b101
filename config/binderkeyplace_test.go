package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// A binding property written in a binder section (stream.rabbit.binder.prefetch,
// spring.cloud.stream.rabbit.binder.prefetch) is an error that says where it
// goes, not the binder's bare "unknown key" with its list of binder keys;
// a Spring Boot spelling of a binder key (requested-heartbeat) gets a
// did-you-mean; a key the binder takes in its section too
// (stream.kafka.binder.configuration) is left to it.
func TestBinderSectionKeyPlace(t *testing.T) {
	for _, c := range []struct {
		name, yaml, path, want string
	}{
		{"consumer", "stream:\n  rabbit:\n    binder:\n      prefetch: 10\n", "stream.rabbit.binder.prefetch",
			"prefetch is a consumer property of the rabbit binder: set it under stream.rabbit.bindings.<binding>.consumer.prefetch (or stream.rabbit.default.consumer.prefetch for every binding)"},
		{"scst camel", "spring:\n  cloud:\n    stream:\n      rabbit:\n        binder:\n          requeueRejected: true\n", "stream.rabbit.binder.requeue-rejected",
			"requeue-rejected is a consumer property of the rabbit binder: set it under stream.rabbit.bindings.<binding>.consumer.requeue-rejected"},
		{"both", "stream:\n  rabbit:\n    binder:\n      auto-bind-dlq: true\n", "stream.rabbit.binder.auto-bind-dlq",
			"auto-bind-dlq is a consumer and producer property of the rabbit binder: set it under stream.rabbit.bindings.<binding>.consumer.auto-bind-dlq or stream.rabbit.bindings.<binding>.producer.auto-bind-dlq"},
		{"producer", "stream:\n  kafka:\n    binder:\n      sync: true\n", "stream.kafka.binder.sync",
			"sync is a producer property of the kafka binder: set it under stream.kafka.bindings.<binding>.producer.sync (or stream.kafka.default.producer.sync for every binding)"},
		{"boot spelling", "stream:\n  rabbit:\n    binder:\n      requested-heartbeat: 30\n", "stream.rabbit.binder.requested-heartbeat",
			"unknown key; did you mean heartbeat? (requested-heartbeat is Spring Boot's spring.rabbitmq.requested-heartbeat; a duration (30s): a bare number is milliseconds here, seconds in Spring Boot)"},
		{"boot port", "stream:\n  rabbit:\n    binder:\n      host: mq\n      port: 5673\n", "stream.rabbit.binder.port",
			"unknown key; did you mean addresses? (port is Spring Boot's spring.rabbitmq.port: the binder takes host:port in addresses (or host))"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := Load(Options{Data: []byte(c.yaml), Env: []string{}})
			var ces stream.ConfigErrors
			if !errors.As(err, &ces) || len(ces) != 1 {
				t.Fatalf("err = %v, want one problem", err)
			}
			if ces[0].Path != c.path || ces[0].Origin == "" || !strings.Contains(ces[0].Msg, c.want) {
				t.Errorf("problem %s (%s): %s\nwant at %s: %s", ces[0].Path, ces[0].Origin, ces[0].Msg, c.path, c.want)
			}
			// Taken out, so that the binder does not report it again.
			typ := strings.Split(c.path, ".")[1]
			b := l.Stream.Extensions[typ].Binder
			if c.name == "boot port" {
				if _, ok := b["host"]; !ok || len(b) != 1 {
					t.Errorf("binder section left: %v, want host alone (a key of the binder's)", b)
				}
			} else if len(b) != 0 {
				t.Errorf("binder section left: %v", b)
			}
		})
	}
	for _, yaml := range []string{
		"stream:\n  kafka:\n    binder:\n      configuration:\n        max.poll.records: 10\n      close-timeout: 5s\n      transaction-manager: tm\n",
		"stream:\n  rabbit:\n    binder:\n      heartbeat: 30s\n  nats:\n    binder:\n      stream:\n        replicas: 3\n",
	} {
		l, err := Load(Options{Data: []byte(yaml), Env: []string{}})
		if err != nil {
			t.Fatalf("%s: %v", yaml, err)
		}
		if len(l.Stream.Extensions["kafka"].Binder)+len(l.Stream.Extensions["rabbit"].Binder) == 0 {
			t.Errorf("%s: binder section emptied", yaml)
		}
	}
}
