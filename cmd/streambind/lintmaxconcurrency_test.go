package main

import (
	"strings"
	"testing"
)

// TestLintRabbitMaxConcurrencyWarns: lint reports the WARN the RabbitMQ
// binder logs at bind of a max-concurrency above the binding's
// concurrency (it runs concurrency workers, SCSt would scale up to
// max-concurrency), in the binder's words, at the key that set it (the
// binding's, or the binder's default section's); nothing when
// max-concurrency is not above concurrency.
func TestLintRabbitMaxConcurrencyWarns(t *testing.T) {
	const yaml = `stream:
  default-binder: rabbit
  function:
    definition: work
  bindings:
    work-in-0:
      destination: jobs
      group: g
      consumer:
        concurrency: 2
  rabbit:
`
	binding := func(max string) string {
		return yaml + "    bindings:\n      work-in-0:\n        consumer:\n          max-concurrency: " + max + "\n"
	}
	dir := writeFiles(t, map[string]string{
		"binding/application.yaml": binding("5"),
		"default/application.yaml": yaml + "    default:\n      consumer:\n        max-concurrency: 5\n",
		"equal/application.yaml":   binding("2"),
	})
	const msg = "warning: rabbit: max-concurrency is not honoured: the binder does not scale its consumers; it runs consumer.concurrency consumers (SCSt's listener container starts with concurrency and adds consumers up to max-concurrency under load): set consumer.concurrency to the number to run (binding: work-in-0; max concurrency: 5; concurrency: 2)"
	for sub, want := range map[string]string{
		"binding": "binding/application.yaml:15: stream.rabbit.bindings.work-in-0.consumer.max-concurrency: " + msg,
		"default": "default/application.yaml:14: stream.rabbit.default.consumer.max-concurrency: " + msg,
	} {
		r := runIn(t, dir, nil, "lint", "--strict", sub)
		if r.code != exitFailure || strings.TrimSpace(r.stdout) != want {
			t.Errorf("%s: exit status %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", sub, r.code, r.stdout, want, r.stderr)
		}
	}
	if r := runIn(t, dir, nil, "lint", "--strict", "equal"); r.code != exitOK || r.stdout != "" {
		t.Errorf("equal: exit status %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
