package main

import (
	"testing"
	"time"
)

// rabbitEmitWorkHead is the head of an application.yaml of the functions
// emit and work on one RabbitMQ binder (in the vhost VHOST names), up to
// its bindings, which the test adds.
const rabbitEmitWorkHead = `stream:
  function:
    definition: emit;work
  default-binder: rabbit
  binders:
    rabbit:
      type: rabbit
      environment:
        addresses: ${RABBIT_ADDRESSES:127.0.0.1:5672}
        virtual-host: ${VHOST}
  bindings:
`

// rabbitJobsBindings (after rabbitEmitWorkHead): emit-out-0 sends to
// jobs, keeping what it sends for the group workers (required-groups),
// and work-in-0 consumes jobs in that group.
const rabbitJobsBindings = `    emit-out-0:
      destination: jobs
      producer:
        required-groups: workers
    work-in-0:
      destination: jobs
      group: workers
`

// limitStep is one dlq run of a --limit test: sub (replay or purge) with
// --limit limit, which must say it handled want dead letters.
type limitStep struct {
	sub   string
	limit string
	want  int
}

// runLimitSteps runs steps in order (`dlq <sub> --limit <limit>`, a purge
// with --yes, each within a minute) from n dead letters, and checks each
// one's count, that the copies of those replayed so far arrived (c), and,
// by checkLeft, the dead letters left after it. It returns the number of
// copies replayed in all.
func runLimitSteps(t *testing.T, dir string, env []string, c *copies, n int, steps []limitStep, checkLeft func(step limitStep, left int)) int {
	t.Helper()
	left, replayed := n, 0
	for _, step := range steps {
		args := []string{"--limit", step.limit}
		if step.sub == "purge" {
			args = append(args, "--yes")
		}
		p := startDLQ(t, dir, env, step.sub, args...)
		p.wait(t, time.Minute)
		if p.err != nil {
			t.Fatalf("%s --limit %s: %v\n%s", step.sub, step.limit, p.err, p.out)
		}
		if got := p.count(t); got != step.want {
			t.Fatalf("%s --limit %s: %d; want %d\n%s", step.sub, step.limit, got, step.want, p.out)
		}
		left -= step.want
		if step.sub == "replay" {
			replayed += step.want
		}
		eventually(t, "the copies", func() bool { d, _ := c.counts(); return d >= replayed })
		checkLeft(step, left)
	}
	return replayed
}
