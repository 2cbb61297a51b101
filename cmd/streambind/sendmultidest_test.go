package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
)

// TestSendBindingOfSeveralDestinations: send --binding on an input binding
// that reads two destinations (SCSt's comma-separated destination) takes
// --destination to pick one and sends it on the binding's binder, so
// --binder is needed only where the binding's binder is ambiguous. It
// refused --destination beside --binding and said "send to one with
// --destination and --binder" whatever the binder, although the binding's
// own was known: with two binders declared and the binding naming one, the
// user had to name that binder again.
func TestSendBindingOfSeveralDestinations(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	suffix := time.Now().UnixNano()
	a, b := fmt.Sprintf("cli-md-a-%d", suffix), fmt.Sprintf("cli-md-b-%d", suffix)
	// Two binders, no default: work-in-0 names its own. In "unchosen" no
	// binder is declared or chosen (the app's code would choose): there
	// the binding's binder is really ambiguous.
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(`stream:
  function:
    definition: work
  binders:
    first:
      type: kafka
      environment:
        brokers: ${KAFKA_BROKERS}
    second:
      type: kafka
      environment:
        brokers: ${KAFKA_BROKERS}
  bindings:
    work-in-0:
      destination: %[1]s,%[2]s
      group: g
      binder: second
`, a, b), "unchosen/application.yaml": fmt.Sprintf(`spring:
  kafka:
    bootstrap-servers: ${KAFKA_BROKERS}
stream:
  function:
    definition: work
  bindings:
    work-in-0:
      destination: %[1]s,%[2]s
      group: g
`, a, b)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	createTopic(t, c.Brokers(), a, 1)
	createTopic(t, c.Brokers(), b, 1)

	r := runIn(t, dir, env, "send", "--binding", "work-in-0", "--destination", b, "--key", "k1", `{"id":"1"}`)
	if r.code != exitOK || !strings.Contains(r.stderr, "sent 1 message to work-in-0 ("+b+" on binder second)") {
		t.Fatalf("send --binding work-in-0 --destination %s: exit status %d, stderr %q", b, r.code, r.stderr)
	}
	if got := readRecords(t, c.Brokers(), b, 1); got[0].key != "k1" {
		t.Errorf("%s holds %+v, want the record of key k1", b, got)
	}

	for _, tc := range []struct {
		args []string
		code int
		text string
		not  string
	}{
		// Which destination: asked for, with the binding's names; not
		// the binder, which is the binding's.
		{[]string{"send", "--binding", "work-in-0", "{}"}, exitUsage,
			fmt.Sprintf("binding work-in-0 reads 2 destinations (%s, %s): say which with --destination, as in: streambind send --binding work-in-0 --destination %s", a, b, a), "--binder"},
		{[]string{"send", "--binding", "work-in-0", "--destination", "nope", "{}"}, exitUsage,
			fmt.Sprintf("--destination nope: binding work-in-0 reads %s, %s, not nope", a, b), "--binder"},
		// The binding's binder is ambiguous: --binder is asked for.
		{[]string{"send", "unchosen", "--binding", "work-in-0", "--destination", b, "{}"}, exitUsage,
			"which binder? stream.default-binder is not set and no binder is declared under stream.binders", ""},
		// tail reads every destination of a binding: --destination still
		// excludes --binding there, and --exchange does for send.
		{[]string{"tail", "--binding", "work-in-0", "--destination", b}, exitUsage, "--binding and --destination exclude each other", ""},
		{[]string{"send", "--binding", "work-in-0", "--exchange", b, "{}"}, exitUsage, "--binding and --exchange exclude each other", ""},
	} {
		r := runIn(t, dir, env, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.text) || tc.not != "" && strings.Contains(r.stderr, tc.not) {
			t.Errorf("%v: exit status %d, stderr %q; want %d, %q", tc.args, r.code, r.stderr, tc.code, tc.text)
		}
	}
	// With --binder the ambiguous one sends, to the destination picked.
	r = runIn(t, dir, env, "send", "unchosen", "--binding", "work-in-0", "--destination", a, "--binder", "kafka", "--key", "k2", `{"id":"2"}`)
	if r.code != exitOK || !strings.Contains(r.stderr, "sent 1 message to work-in-0 ("+a+" on binder kafka)") {
		t.Fatalf("send unchosen --binding work-in-0 --destination %s --binder kafka: exit status %d, stderr %q", a, r.code, r.stderr)
	}
	if got := readRecords(t, c.Brokers(), a, 1); got[0].key != "k2" {
		t.Errorf("%s holds %+v, want the record of key k2", a, got)
	}
}
