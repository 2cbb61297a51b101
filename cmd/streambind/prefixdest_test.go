package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// prefixDestService has the RabbitMQ prefix dev. for every binding, given
// per environment in stream.rabbit.default (consumers and producers).
const prefixDestService = rabbitEmitWorkHead + rabbitJobsBindings + `  rabbit:
    default:
      consumer:
        prefix: dev.
      producer:
        prefix: dev.
`

// TestTailDestinationRabbitPrefix: tail --destination names the
// destination as the configuration does, and reads the exchange the
// service's bindings use, <prefix><destination> with
// stream.rabbit.default.consumer.prefix, as send --destination sends to
// <prefix><destination> with the producer's. tail took the name as the
// exchange: it declared and read the bare exchange jobs, where nothing the
// service (or send --destination jobs) sends arrives, and --group G read
// jobs.G, not the group's queue dev.jobs.G. --exchange names an exchange
// exactly, no prefix applied, for send and tail alike.
func TestTailDestinationRabbitPrefix(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": prefixDestService})
	env := []string{"VHOST=" + vhost}
	// The producer declares dev.jobs and the group's queue dev.jobs.workers.
	if r := runIn(t, dir, env, "send", "--binding", "emit-out-0", `1`); r.code != exitOK {
		t.Fatalf("send emit-out-0: exit status %d, stderr %q", r.code, r.stderr)
	}
	anon := startTail(t, dir, env, "--destination", "jobs", "--count", "2", "--timeout", "30s")
	if r := runIn(t, dir, env, "send", "--destination", "jobs", `2`); r.code != exitOK || r.stderr != "sent 1 message to jobs (jobs on binder rabbit, exchange dev.jobs)\n" {
		t.Fatalf("send --destination: exit status %d, stderr %q", r.code, r.stderr)
	}
	if r := runIn(t, dir, env, "send", "--binding", "emit-out-0", `3`); r.code != exitOK {
		t.Fatalf("send emit-out-0: exit status %d, stderr %q", r.code, r.stderr)
	}
	code, got := anon.wait(t)
	if code != exitOK {
		t.Fatalf("tail --destination: exit status %d, stderr %q; exchanges:\n%s", code, anon.errText(), rabbittest.Ctl(t, "list_exchanges", "-p", vhost, "name"))
	}
	assertLines(t, payloads(got), []string{`2`, `3`})
	if !strings.Contains(anon.errText(), "tailing jobs on binder rabbit (exchange dev.jobs)\n") {
		t.Errorf("tail --destination does not name the exchange: %q", anon.errText())
	}
	group := startTail(t, dir, env, "--destination", "jobs", "--group", "workers", "--count", "3", "--timeout", "30s")
	code, got = group.wait(t)
	if code != exitOK {
		t.Fatalf("tail --destination --group: exit status %d, stderr %q; queues:\n%s", code, group.errText(), rabbittest.Ctl(t, "list_queues", "-p", vhost, "name", "messages"))
	}
	assertLines(t, payloads(got), []string{`1`, `2`, `3`})
	if out := rabbittest.Ctl(t, "list_exchanges", "-p", vhost, "name"); strings.Contains("\n"+out+"\n", "\njobs\n") {
		t.Errorf("the unprefixed exchange jobs was declared:\n%s", out)
	}
	if out := rabbittest.Ctl(t, "list_queues", "-p", vhost, "name"); strings.Contains("\n"+out+"\n", "\njobs.workers\n") {
		t.Errorf("the unprefixed queue jobs.workers was declared:\n%s", out)
	}

	// --exchange: the exchange as named, for tail and send.
	literal := startTail(t, dir, env, "--exchange", "jobs", "--count", "1", "--timeout", "30s")
	if r := runIn(t, dir, env, "send", "--exchange", "jobs", `4`); r.code != exitOK {
		t.Fatalf("send --exchange: exit status %d, stderr %q", r.code, r.stderr)
	}
	code, got = literal.wait(t)
	if code != exitOK {
		t.Fatalf("tail --exchange: exit status %d, stderr %q", code, literal.errText())
	}
	assertLines(t, payloads(got), []string{`4`})
	if n := queueDepth(t, vhost, "dev.jobs.workers")(); n != 0 {
		t.Errorf("send --exchange jobs reached dev.jobs.workers: %d messages", n)
	}
	for _, args := range [][]string{
		{"send", "--destination", "jobs", "--exchange", "jobs", `5`},
		{"tail", "--binding", "work-in-0", "--exchange", "jobs"},
	} {
		if r := runIn(t, dir, env, args...); r.code != exitUsage || !strings.Contains(r.stderr, "exclude each other") {
			t.Errorf("%v: exit status %d, stderr %q, want usage (exclude each other)", args, r.code, r.stderr)
		}
	}
}

// TestDLQReplayToRabbitPrefix: dlq replay --to names the destination as
// the configuration does: on RabbitMQ the copies go to
// <prefix><destination> with stream.rabbit.default.producer.prefix, where
// send --destination sends and the service's consumers of it read. --to
// took the exchange as written: the replay declared the bare exchange and
// sent there, unroutable (or, on a broker shared by environments, to
// another one's queues). --to-exchange names an exchange exactly.
func TestDLQReplayToRabbitPrefix(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	yaml := fmt.Sprintf(dlqService, rabbitBinder) + `  rabbit:
    default:
      consumer:
        prefix: dev.
      producer:
        prefix: dev.
`
	dir := writeFiles(t, map[string]string{"application.yaml": yaml})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	depth := queueDepth(t, vhost, "dev.work.g.dlq")
	a.send(t, "c-1", job{"1", "card declined"}, job{"2", "card declined"})
	eventually(t, "2 dead letters", func() bool { return depth() == 2 })
	// The queue a consumer group r of destination retry reads,
	// dev.retry.r on the exchange dev.retry (as the binder declares
	// them), and one on the literal exchange legacy.
	ch := rabbittest.Channel(t, vhost)
	for _, q := range [][2]string{{"dev.retry", "dev.retry.r"}, {"legacy", "legacy.q"}} {
		if err := ch.ExchangeDeclare(q[0], "topic", true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.QueueDeclare(q[1], true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		if err := ch.QueueBind(q[1], "#", q[0], false, nil); err != nil {
			t.Fatal(err)
		}
	}
	retried := queueDepth(t, vhost, "dev.retry.r")
	dlq := func(args ...string) result {
		t.Helper()
		return runWith(t, &runEnv{env: env, dir: dir, stdin: strings.NewReader("")}, append([]string{"dlq"}, args...)...)
	}
	if r := dlq("replay", "--binding", "work-in-0", "--to", "retry", "--limit", "1"); r.code != exitOK || !strings.Contains(r.stdout, "replayed 1 dead letter of work-in-0") {
		t.Fatalf("replay --to retry: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if n := retried(); n != 1 {
		t.Errorf("after replay --to retry, dev.retry.r has %d messages, want 1", n)
	}
	if out := rabbittest.Ctl(t, "list_exchanges", "-p", vhost, "name"); strings.Contains("\n"+out+"\n", "\nretry\n") {
		t.Errorf("the unprefixed exchange retry was declared:\n%s", out)
	}
	if r := dlq("replay", "--binding", "work-in-0", "--to-exchange", "legacy"); r.code != exitOK || !strings.Contains(r.stdout, "replayed 1 dead letter of work-in-0") {
		t.Fatalf("replay --to-exchange legacy: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if n := queueDepth(t, vhost, "legacy.q")(); n != 1 {
		t.Errorf("after replay --to-exchange legacy, legacy.q has %d messages, want 1", n)
	}
	if n := depth(); n != 0 {
		t.Errorf("after the replays: %d dead letters", n)
	}
	if r := dlq("replay", "--binding", "work-in-0", "--to", "retry", "--to-exchange", "legacy"); r.code != exitUsage {
		t.Errorf("--to with --to-exchange: exit %d, stderr %q, want usage", r.code, r.stderr)
	}
}

// TestExchangeFlagRabbitOnly: --exchange (send, tail) names a RabbitMQ
// exchange: on another binder type it is a usage error pointing to
// --destination, before anything connects.
func TestExchangeFlagRabbitOnly(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yaml": `stream:
  default-binder: kafka
  binders:
    kafka:
      type: kafka
      environment:
        brokers: 127.0.0.1:1
`})
	for _, args := range [][]string{{"send", "--exchange", "orders", `1`}, {"tail", "--exchange", "orders"}} {
		r := runIn(t, dir, nil, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--exchange names a RabbitMQ exchange, but the binder is of type kafka: use --destination orders") {
			t.Errorf("%v: exit status %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

// TestSendConsumerBindingWithoutPrefix: send --binding of a consumer
// binding sends to the exchange its queue is bound to, <its consumer
// prefix><destination>, also when that prefix is empty and
// stream.rabbit.default.producer.prefix is not: the empty prefix was not
// set on send's producer, which took the default producer prefix and sent
// to dev.jobs, where the binding's queue is not bound (unroutable).
func TestSendConsumerBindingWithoutPrefix(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	yaml := strings.Replace(prefixDestService, `    default:
      consumer:
        prefix: dev.
`, `    default:
`, 1)
	dir := writeFiles(t, map[string]string{"application.yaml": yaml})
	env := []string{"VHOST=" + vhost}
	tail := startTail(t, dir, env, "--binding", "work-in-0", "--count", "1", "--timeout", "30s")
	if r := runIn(t, dir, env, "send", "--binding", "work-in-0", `1`); r.code != exitOK {
		t.Fatalf("send --binding work-in-0: exit status %d, stderr %q", r.code, r.stderr)
	}
	code, got := tail.wait(t)
	if code != exitOK {
		t.Fatalf("tail --binding work-in-0: exit status %d, stderr %q", code, tail.errText())
	}
	assertLines(t, payloads(got), []string{`1`})
}
