package main

import (
	"testing"
)

// TestTailRefusedSettingNamesUserBinding: tail --binding B --group G
// carries B's binder-specific consumer settings (its own and its binder
// type's defaults) over to its own binding, streambindTail-in-0. A
// setting the binder refuses was reported at that binding's key, which
// the user never wrote, and at the line of the stream.<type>.bindings
// section (stream.kafka.bindings.streambindTail-in-0.consumer.ack-mode
// (application.yaml:11)); it is now at the user's key and its line, for
// every binder type, and at stream.<type>.default.consumer.<key> where
// only that sets it. (send carries no binder-specific setting of an input
// binding, and sends through an output binding under its own name.)
func TestTailRefusedSettingNamesUserBinding(t *testing.T) {
	t.Parallel()
	service := func(typ, env, section string) string {
		return `stream:
  function:
    definition: work
  binders:
    b:
      type: ` + typ + `
      environment:
` + env + `
  ` + typ + `:
` + section + `
  bindings:
    work-in-0:
      destination: jobs
      group: workers
`
	}
	binding := func(key, value string) string {
		return "    bindings:\n      work-in-0:\n        consumer:\n          " + key + ": " + value
	}
	const kafkaManual = "MANUAL is not supported: streambind has no manual acknowledgment; the binder commits a message's offset once its handler returned nil (at least once)"
	const sideways = `want earliest or latest, got "sideways"`
	for _, tc := range []struct {
		name, typ, env, section, want string
	}{
		{"kafka ack-mode", "kafka", "        brokers: 127.0.0.1:1", binding("ack-mode", "MANUAL"),
			"stream.kafka.bindings.work-in-0.consumer.ack-mode (application.yaml:13): " + kafkaManual},
		{"kafka default", "kafka", "        brokers: 127.0.0.1:1", "    default:\n      consumer:\n        ack-mode: MANUAL",
			"stream.kafka.default.consumer.ack-mode (application.yaml:12): " + kafkaManual},
		{"rabbit", "rabbit", "        addresses: 127.0.0.1:1", binding("acknowledge-mode", "MANUAL"),
			"stream.rabbit.bindings.work-in-0.consumer.acknowledge-mode (application.yaml:13): MANUAL is not supported: there is no manual acknowledgment: the binder acknowledges a message once its handler returned nil (AUTO: at least once)"},
		{"nats", "nats", "        url: nats://127.0.0.1:1", binding("start-offset", "sideways"),
			"stream.nats.bindings.work-in-0.consumer.start-offset (application.yaml:13): " + sideways},
		{"redis", "redis", "        address: 127.0.0.1:1", binding("start-offset", "sideways"),
			"stream.redis.bindings.work-in-0.consumer.start-offset (application.yaml:13): " + sideways},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeFiles(t, map[string]string{"application.yaml": service(tc.typ, tc.env, tc.section)})
			r := runIn(t, dir, nil, "tail", "--binding", "work-in-0", "--group", "workers", "--count", "1", "--timeout", "5s", "--connect-timeout", "1s")
			want := "streambind: invalid configuration (1 problem):\n  - " + tc.want + "\n"
			if r.code != exitFailure || r.stderr != want || r.stdout != "" {
				t.Errorf("tail: exit status %d, stdout %q, stderr\n%q\nwant %d, stderr\n%q", r.code, r.stdout, r.stderr, exitFailure, want)
			}
		})
	}
}
