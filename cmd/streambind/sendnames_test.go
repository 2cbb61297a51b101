package main

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestSendNamesWhatUserGave: send's errors name what the user gave (the
// destination, or their --binding), not send's own binding, which they
// never wrote: a send no queue takes read `rabbit: send to
// "nc1-shipments" (binding streambind-send)`, a start failure `bind
// producer streambind-send to fanx: rabbit: bind producer streambind-send
// (destination "fanx")`.
func TestSendNamesWhatUserGave(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": rabbitEmitWorkHead + `    work-in-0:
      destination: nc1-shipments
      group: audit
`})
	env := []string{"VHOST=" + vhost}
	ch := rabbittest.Channel(t, vhost)
	if err := ch.ExchangeDeclare("fanx", "fanout", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "--destination", "nc1-shipments", `{}`}, `streambind: argument 1: rabbit: send to "nc1-shipments": publish to exchange "nc1-shipments" with routing key "nc1-shipments": unroutable message`},
		{[]string{"send", "--binding", "work-in-0", `{}`}, `streambind: argument 1: rabbit: send to "nc1-shipments" (--binding work-in-0): publish to exchange "nc1-shipments" with routing key "nc1-shipments": unroutable message`},
		{[]string{"send", "--destination", "fanx", `{}`}, `streambind: start: bind producer to fanx: rabbit: bind producer (destination "fanx"): declare exchange "fanx": it exists with a different type`},
	} {
		r := runIn(t, dir, env, tc.args...)
		if r.code != exitFailure || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, sendBinding) {
			t.Errorf("%v: exit status %d, stderr %q; want %q and no %s", tc.args, r.code, r.stderr, tc.want, sendBinding)
		}
	}
}
