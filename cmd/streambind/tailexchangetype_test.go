package main

import (
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestTailExchangeOfOtherType: tail --exchange DLX of the direct exchange
// DLX (where dead letters go) failed: tail declared a topic exchange, and
// RabbitMQ refused it ("declare exchange "DLX": it exists with a
// different type"). tail now reads an exchange that exists with another
// type as it is; on a direct exchange its queue needs --routing-key, which
// binds it with that key (without it the error says so), and gets only
// the messages of that key.
func TestTailExchangeOfOtherType(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + `    work-in-0:
      destination: work
`})
	env := []string{"VHOST=" + vhost}
	ch := rabbittest.Channel(t, vhost)
	if err := ch.ExchangeDeclare("DLX", "direct", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}

	r := runIn(t, dir, env, "tail", "--exchange", "DLX", "--count", "1", "--timeout", "5s")
	if r.code != exitFailure || !strings.Contains(r.stderr, `exchange "DLX" is a direct exchange`) || !strings.Contains(r.stderr, "--routing-key") {
		t.Errorf("tail --exchange DLX without --routing-key: exit status %d, stderr %q; want it to say to pass --routing-key", r.code, r.stderr)
	}

	tail := startTail(t, dir, env, "--exchange", "DLX", "--routing-key", "work.anon.failed", "--count", "1", "--timeout", "30s")
	for _, m := range []struct{ key, body string }{{"other", `{"id":"no"}`}, {"work.anon.failed", `{"id":"yes"}`}} {
		if err := ch.Publish("DLX", m.key, false, false, amqp.Publishing{ContentType: "application/json", Body: []byte(m.body)}); err != nil {
			t.Fatal(err)
		}
	}
	code, got := tail.wait(t)
	if code != exitOK {
		t.Fatalf("tail: exit status %d, stderr %q", code, tail.errText())
	}
	assertLines(t, payloads(got), []string{`{"id":"yes"}`})
	// The exchange is still the direct one.
	ch = rabbittest.Channel(t, vhost)
	if err := ch.ExchangeDeclarePassive("DLX", "direct", true, false, false, false, nil); err != nil {
		t.Errorf("DLX after tail: %v", err)
	}
}
