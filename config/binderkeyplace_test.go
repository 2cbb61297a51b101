package config

import (
	"errors"
	"fmt"
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

// The same keys in the environment of a binder declared under
// stream.binders (SCSt's multi-binder form), written as SCSt does
// (spring.cloud.stream.<type>.binder.<key>: nested, dotted or both) or
// in the binder's own keys, get the same error at their key path and
// line, and are taken out; the binder's other keys stay. Before, the
// check covered stream.<type>.binder only, and the binder refused such a
// key as unknown without saying where it goes.
func TestBinderEnvironmentKeyPlace(t *testing.T) {
	const head = "spring:\n  cloud:\n    stream:\n      binders:\n        b1:\n"
	for _, c := range []struct {
		name, file, data, path, origin, want string
		left                                 string // a key of the environment that stays
	}{
		{"nested", "application.yaml", head + "          type: rabbit\n          environment:\n            spring:\n              cloud:\n                stream:\n                  rabbit:\n                    binder:\n                      addresses: mq:5672\n                      prefetch: 10\n",
			"stream.binders.b1.environment.spring.cloud.stream.rabbit.binder.prefetch", "application.yaml:14",
			"prefetch is a consumer property of the rabbit binder: set it under stream.rabbit.bindings.<binding>.consumer.prefetch", "addresses"},
		{"dotted", "application.yaml", head + "          type: kafka\n          environment:\n            spring.cloud.stream.kafka.binder.brokers: k:9092\n            spring.cloud.stream.kafka.binder.sync: true\n",
			"stream.binders.b1.environment.spring.cloud.stream.kafka.binder.sync", "application.yaml:9",
			"sync is a producer property of the kafka binder: set it under stream.kafka.bindings.<binding>.producer.sync", "spring.cloud.stream.kafka.binder.brokers"},
		{"mixed", "application.yaml", head + "          type: rabbit\n          environment:\n            spring.cloud.stream:\n              rabbit.binder:\n                requested-heartbeat: 10\n",
			"stream.binders.b1.environment.spring.cloud.stream.rabbit.binder.requested-heartbeat", "application.yaml:10",
			"unknown key; did you mean heartbeat?", ""},
		{"own keys", "application.yaml", head + "          type: nats\n          environment:\n            url: nats://n:4222\n            ack-wait: 5s\n",
			"stream.binders.b1.environment.ack-wait", "application.yaml:9",
			"ack-wait is a consumer property of the nats binder: set it under stream.nats.bindings.<binding>.consumer.ack-wait", "url"},
		{"properties", "application.properties", "spring.cloud.stream.binders.b1.type=redis\nspring.cloud.stream.binders.b1.environment.spring.cloud.stream.redis.binder.claim-min-idle=5s\n",
			"stream.binders.b1.environment.spring.cloud.stream.redis.binder.claim-min-idle", "application.properties:2",
			"claim-min-idle is a consumer property of the redis binder", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := Load(Options{Data: []byte(c.data), Name: c.file, Env: []string{}})
			var ces stream.ConfigErrors
			if !errors.As(err, &ces) || len(ces) != 1 {
				t.Fatalf("err = %v, want one problem", err)
			}
			if ces[0].Path != c.path || ces[0].Origin != c.origin || !strings.Contains(ces[0].Msg, c.want) {
				t.Errorf("problem %s (%s): %s\nwant at %s (%s): %s", ces[0].Path, ces[0].Origin, ces[0].Msg, c.path, c.origin, c.want)
			}
			env := l.Stream.Binders["b1"].Environment
			if strings.Contains(strings.ToLower(fmt.Sprint(env)), strings.ToLower(c.path[strings.LastIndexByte(c.path, '.')+1:])) {
				t.Errorf("environment left: %v", env)
			}
			if c.left != "" {
				if _, ok := env[c.left]; !ok {
					t.Errorf("environment %v lost %s", env, c.left)
				}
			}
		})
	}
	// A key the binder takes in its section (kafka configuration) stays.
	l := mustLoad(t, Options{Data: []byte(head + "          type: kafka\n          environment:\n            spring.cloud.stream.kafka.binder.configuration:\n              max.poll.records: 10\n")})
	if len(l.Stream.Binders["b1"].Environment) == 0 {
		t.Errorf("environment emptied")
	}
}
