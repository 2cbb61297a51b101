package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// The trial's consumer.group gave "unknown key (known keys: ...)", a list
// without group in it: a binding's own key (group, destination,
// content-type, binder) under its consumer or producer section is an
// unknown key that says where it belongs.
func TestBindingKeyInsideConsumerOrProducer(t *testing.T) {
	for _, c := range []struct{ yaml, path, msg string }{
		{"stream:\n  bindings:\n    payment-in-0:\n      consumer:\n        group: billing\n",
			"stream.bindings.payment-in-0.consumer.group",
			"unknown key; group is a key of the binding itself, not of its consumer: stream.bindings.payment-in-0.group"},
		{"spring:\n  cloud:\n    stream:\n      bindings:\n        payment-out-0:\n          producer:\n            contentType: text/plain\n",
			"stream.bindings.payment-out-0.producer.content-type",
			"unknown key; content-type is a key of the binding itself, not of its producer: stream.bindings.payment-out-0.content-type"},
		{"stream:\n  default:\n    producer:\n      destination: x\n",
			"stream.default.producer.destination",
			"unknown key; destination is a key of the binding itself, not of its producer: stream.default.destination"},
		{"stream:\n  bindings:\n    payment-in-0:\n      consumer:\n        binder: rabbit\n",
			"stream.bindings.payment-in-0.consumer.binder",
			"unknown key; binder is a key of the binding itself, not of its consumer: stream.bindings.payment-in-0.binder"},
	} {
		_, err := Load(Options{Data: []byte(c.yaml), Env: []string{}, Logger: discard})
		var errs stream.ConfigErrors
		if !errors.As(err, &errs) || len(errs) != 1 {
			t.Fatalf("%s: want one problem, got %v", c.path, err)
		}
		if e := errs[0]; !strings.EqualFold(e.Path, c.path) || e.Msg != c.msg {
			t.Errorf("got %s: %s\nwant %s: %s", e.Path, e.Msg, c.path, c.msg)
		}
	}
}
