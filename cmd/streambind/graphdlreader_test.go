package main

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// deadLetterReaderSystem is a producer of orders, its consumers payment
// (dlq, dead-letter queue payment-dead) and shipping, and audit, a
// dead-letter reader in a process of its own: it configures payment's
// binding chargePayment-in-0 without binding chargePayment.
func deadLetterReaderSystem(t *testing.T) string {
	return writeFiles(t, map[string]string{
		"orders/application.yaml": "spring: { application: { name: orders } }\nstream:\n  default-binder: rabbit\n" +
			"  function: { definition: placeOrder }\n  bindings:\n    placeOrder-out-0: { destination: orders }\n",
		"payment/application.yaml": "spring: { application: { name: payment } }\nstream:\n  default-binder: rabbit\n" +
			"  function: { definition: chargePayment }\n  bindings:\n" +
			"    chargePayment-in-0: { destination: orders, group: payment, consumer: { dlq: true } }\n" +
			"  rabbit:\n    bindings:\n      chargePayment-in-0: { consumer: { dead-letter-queue-name: payment-dead } }\n",
		"shipping/application.yaml": "spring: { application: { name: shipping } }\nstream:\n  default-binder: rabbit\n" +
			"  function: { definition: ship }\n  bindings:\n    ship-in-0: { destination: orders, group: shipping }\n",
		"audit/application.yaml": "spring: { application: { name: audit } }\nstream:\n  default-binder: rabbit\n" +
			"  function: { definition: auditDeadLetters }\n  bindings:\n" +
			"    chargePayment-in-0: { destination: orders, group: payment, consumer: { dlq: true } }\n" +
			"    auditDeadLetters-in-0: { consumer: { dead-letters-of: chargePayment-in-0 } }\n" +
			"  rabbit:\n    bindings:\n      chargePayment-in-0: { consumer: { dead-letter-queue-name: payment-dead } }\n",
	})
}

// A binding the service configures but does not bind (the one its
// dead-letter reader names) is no consumer of anything: it was drawn as
// edges from and to no node (invalid Mermaid and DOT), listed as a
// consumer of rabbit:orders in the JSON, and the reader alone got "orders
// (rabbit) is consumed by chargePayment-in-0 but produced by none".
func TestGraphDeadLetterReaderOfItsOwn(t *testing.T) {
	dir := deadLetterReaderSystem(t)
	args := []string{"orders", "payment", "shipping", "audit"}
	// Every edge joins two nodes.
	mermaidEdge := regexp.MustCompile(`^  \w+ -\.?->\|"[^"]*"\| \w+$`)
	r := runIn(t, dir, nil, append([]string{"graph"}, args...)...)
	if r.code != exitOK {
		t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
	}
	for _, l := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		if strings.Contains(l, "|") && !strings.Contains(l, "[") && !mermaidEdge.MatchString(l) {
			t.Errorf("mermaid edge %q", l)
		}
	}
	for _, want := range []string{
		`dest_rabbit_orders -->|"chargePayment-in-0<br/>queue orders.payment"| payment__chargePayment`,
		`payment__chargePayment -.->|"dead letters<br/>chargePayment-in-0"| dest_rabbit_payment_dead`,
		`dest_rabbit_payment_dead -->|"auditDeadLetters-in-0<br/>queue payment-dead"| audit__auditDeadLetters`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("mermaid has no %q:\n%s", want, r.stdout)
		}
	}
	if strings.Count(r.stdout, "chargePayment-in-0") != 2 {
		t.Errorf("chargePayment-in-0 drawn other than as payment's consumer and its dead letters:\n%s", r.stdout)
	}
	dotEdge := regexp.MustCompile(`^  \w+ -> \w+ \[`)
	r = runIn(t, dir, nil, append([]string{"graph", "--format", "dot"}, args...)...)
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.Contains(l, "->") && !dotEdge.MatchString(l) {
			t.Errorf("dot edge %q", l)
		}
	}

	m, _ := graphJSON(t, dir, exitOK, args...)
	check := func(what string, got, want []string) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	check("destinations", destSummary(m), []string{
		"rabbit:orders p=orders/placeOrder-out-0 c=payment/chargePayment-in-0,shipping/ship-in-0 dl=",
		"rabbit:payment-dead p= c=audit/auditDeadLetters-in-0 dl=payment/chargePayment-in-0",
	})
	var audit []string
	for _, b := range m.Services[3].Bindings {
		audit = append(audit, b.Name+" "+strings.Join(b.DestinationIDs, ","))
	}
	check("audit's bindings", audit, []string{"auditDeadLetters-in-0 rabbit:payment-dead"})
	check("findings", findingKinds(m), nil)

	// The reader alone: it reads the dead-letter queue, and orders is
	// nothing of its.
	m, r = graphJSON(t, dir, exitOK, "audit")
	check("audit alone", destSummary(m), []string{"rabbit:payment-dead p= c=audit/auditDeadLetters-in-0 dl="})
	check("audit alone findings", findingKinds(m), nil)
	if m.Destinations[0].Kind != "queue" || !m.Destinations[0].DeadLetter {
		t.Errorf("audit alone: %+v", m.Destinations[0])
	}
	r = runIn(t, dir, nil, "graph", "audit")
	if r.code != exitOK || r.stderr != "" {
		t.Errorf("graph audit: exit status %d, stderr %q", r.code, r.stderr)
	}
}

// The bindings of a composition named as SCSt names them (a|b binds
// ab-in-0, ab-out-0) are its own: they were drawn from and to no node.
func TestGraphCompositionSCStBindingNames(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"svc/application.yaml": "stream:\n  default-binder: kafka\n  function: { definition: \"a|b\" }\n  bindings:\n" +
			"    ab-in-0: { destination: x, group: g }\n    ab-out-0: { destination: y }\n",
	})
	r := runIn(t, dir, nil, "graph", "svc")
	for _, want := range []string{
		`dest_kafka_x -->|"ab-in-0<br/>group g"| svc__a_b`,
		`svc__a_b -->|"ab-out-0"| dest_kafka_y`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("mermaid has no %q:\n%s", want, r.stdout)
		}
	}
	m, _ := graphJSON(t, dir, exitOK, "svc")
	if f := m.Services[0].Functions[0]; f.Name != "a|b" || !reflect.DeepEqual(f.Bindings, []string{"ab-in-0", "ab-out-0"}) {
		t.Errorf("function %+v", f)
	}
}
