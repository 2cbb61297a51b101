package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// graphJSON runs graph --format json and decodes the model.
func graphJSON(t *testing.T, dir string, wantCode int, args ...string) (*graphModel, result) {
	t.Helper()
	r := runIn(t, dir, nil, append([]string{"graph", "--format", "json"}, args...)...)
	if r.code != wantCode {
		t.Fatalf("exit status %d, want %d; stderr %q", r.code, wantCode, r.stderr)
	}
	var m graphModel
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	return &m, r
}

// destSummary lists the destinations as "id p=service/binding,... c=...".
func destSummary(m *graphModel) []string {
	refs := func(rs []graphRef) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.Service+"/"+r.Binding)
		}
		return strings.Join(s, ",")
	}
	var out []string
	for _, d := range m.Destinations {
		out = append(out, d.ID+" p="+refs(d.Producers)+" c="+refs(d.Consumers)+" dl="+refs(d.DeadLettersOf))
	}
	return out
}

func findingKinds(m *graphModel) []string {
	var out []string
	for _, f := range m.Findings {
		out = append(out, f.Kind+" "+f.DestinationID)
	}
	return out
}

// Two services of one name (two directories; two instances' configurations
// of one partitioned service) are two services, not one with a loop.
func TestGraphServicesOfOneName(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a/svc/application.yaml": "stream:\n  default-binder: kafka\n  function: { definition: p }\n  bindings:\n    p-out-0: { destination: t }\n",
		"b/svc/application.yaml": "stream:\n  default-binder: kafka\n  function: { definition: p }\n  bindings:\n    p-in-0: { destination: t, group: g }\n",
	})
	r := runIn(t, dir, nil, "graph", "a/svc", "b/svc")
	if r.code != exitOK {
		t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
	}
	for _, want := range []string{
		`subgraph svc_svc_1["svc#1 (a/svc/application.yaml)"]`,
		`subgraph svc_svc_2["svc#2 (b/svc/application.yaml)"]`,
		`svc_1__p -->|"p-out-0"| dest_kafka_t`,
		`dest_kafka_t -->|"p-in-0<br/>group g"| svc_2__p`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("mermaid has no %q:\n%s", want, r.stdout)
		}
	}
	r = runIn(t, dir, nil, "graph", "--format", "dot", "a/svc", "b/svc")
	if !strings.Contains(r.stdout, "svc_1__p -> dest_kafka_t") || !strings.Contains(r.stdout, "dest_kafka_t -> svc_2__p") {
		t.Errorf("dot:\n%s", r.stdout)
	}
	m, _ := graphJSON(t, dir, exitOK, "a/svc", "b/svc")
	if got, want := destSummary(m), []string{"kafka:t p=svc#1/p-out-0 c=svc#2/p-in-0 dl="}; !reflect.DeepEqual(got, want) {
		t.Errorf("destinations %q, want %q", got, want)
	}
	if m.Services[0].ID != "svc#1" || m.Services[1].ID != "svc#2" || m.Services[1].Name != "svc" {
		t.Errorf("services %+v", m.Services)
	}

	// Two instances of one partitioned service, one configuration each.
	inst := "spring.application.name: orders\nstream:\n  default-binder: kafka\n  function: { definition: p }\n  bindings:\n" +
		"    p-in-0: { destination: t, group: g, consumer: { partitioned: true, instance-count: 2, instance-index: %d } }\n"
	dir = writeFiles(t, map[string]string{
		"i0/application.yaml": strings.Replace(inst, "%d", "0", 1),
		"i1/application.yaml": strings.Replace(inst, "%d", "1", 1),
	})
	m, _ = graphJSON(t, dir, exitOK, "i0", "i1")
	if got, want := destSummary(m), []string{"kafka:t p= c=orders#1/p-in-0,orders#2/p-in-0 dl="}; !reflect.DeepEqual(got, want) {
		t.Errorf("destinations %q, want %q", got, want)
	}
	r = runIn(t, dir, nil, "graph", "i0", "i1")
	if !strings.Contains(r.stdout, `dest_kafka_t -->|"p-in-0<br/>group g<br/>instance 0 of 2"| orders_1__p`) ||
		!strings.Contains(r.stdout, `dest_kafka_t -->|"p-in-0<br/>group g<br/>instance 1 of 2"| orders_2__p`) {
		t.Errorf("mermaid:\n%s", r.stdout)
	}
}

// The dead-letter destination is the one the binder names, with its
// settings (RabbitMQ dead-letter-queue-name, Kafka, NATS and Redis
// dlq-name): what streambind dlq finds, and where a dead-letters-of reader
// reads.
func TestGraphDeadLetterNames(t *testing.T) {
	dir := writeFiles(t, map[string]string{"svc/application.yaml": `stream:
  function:
    definition: f;audit
  bindings:
    f-in-0:
      destination: raw
      group: proc
      consumer:
        dlq: true
    audit-in-0:
      group: audit
      consumer:
        dead-letters-of: f-in-0
  kafka:
    bindings:
      f-in-0:
        consumer:
          dlq-name: raw-dead-k
  nats:
    bindings:
      f-in-0:
        consumer:
          dlq-name: raw-dead-n
  redis:
    bindings:
      f-in-0:
        consumer:
          dlq-name: raw-dead-r
  rabbit:
    bindings:
      f-in-0:
        consumer:
          dead-letter-queue-name: raw-dead-q
`,
		"svc/application-kafka.yaml":  "stream.default-binder: kafka\n",
		"svc/application-nats.yaml":   "stream.default-binder: nats\n",
		"svc/application-redis.yaml":  "stream.default-binder: redis\n",
		"svc/application-rabbit.yaml": "stream.default-binder: rabbit\n",
	})
	// RabbitMQ's queue-name-group-only: the DLQ is <group>.dlq.
	writeFileIn(t, dir, "group-only/application.yaml", "stream:\n  default-binder: rabbit\n  function: { definition: f;audit }\n  bindings:\n"+
		"    f-in-0: { destination: raw, group: proc, consumer: { dlq: true } }\n    audit-in-0: { group: audit, consumer: { dead-letters-of: f-in-0 } }\n"+
		"  rabbit.bindings.f-in-0.consumer.queue-name-group-only: true\n")
	for _, tc := range []struct{ svc, profile, typ, dlq string }{
		{"svc", "kafka", "kafka", "raw-dead-k"},
		{"svc", "nats", "nats", "raw-dead-n"},
		{"svc", "redis", "redis", "raw-dead-r"},
		{"svc", "rabbit", "rabbit", "raw-dead-q"},
		{"group-only", "", "rabbit", "proc.dlq"},
	} {
		t.Run(tc.svc+"-"+tc.profile, func(t *testing.T) {
			m, r := graphJSON(t, dir, exitOK, "--profile", tc.profile, tc.svc)
			if r.stderr != "" {
				t.Errorf("stderr %q", r.stderr)
			}
			want := []string{tc.typ + ":raw p= c=" + tc.svc + "/f-in-0 dl=", tc.typ + ":" + tc.dlq + " p= c=" + tc.svc + "/audit-in-0 dl=" + tc.svc + "/f-in-0"}
			got := destSummary(m)
			sort.Strings(got)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("destinations\n%q\nwant\n%q", got, want)
			}
			if got, want := findingKinds(m), []string{"consumed-not-produced " + tc.typ + ":raw"}; !reflect.DeepEqual(got, want) {
				t.Errorf("findings %q, want %q", got, want)
			}
			// What streambind dlq finds.
			s, err := loadService(&runEnv{dir: dir, env: []string{}}, tc.svc, []string{tc.profile})
			if err != nil {
				t.Fatal(err)
			}
			ds, _, ok := s.deadLetterSource("f-in-0")
			name := ds.Destination
			if ds.Group != "" {
				name = ds.Group
			}
			if !ok || name != tc.dlq {
				t.Errorf("streambind dlq's dead letters: %+v %v, want %s", ds, ok, tc.dlq)
			}
		})
	}
}

// A RabbitMQ exchange is not the queue of its name: a consumer of the
// exchange orders.billing.dlq reads nothing of the dead-letter queue
// orders.billing.dlq, which nobody reads.
func TestGraphRabbitExchangeNamedLikeDLQ(t *testing.T) {
	dir := writeFiles(t, map[string]string{"svc/application.yaml": `stream:
  default-binder: rabbit
  function:
    definition: bill;dead
  bindings:
    bill-in-0: { destination: orders, group: billing, consumer: { dlq: true } }
    dead-in-0: { destination: orders.billing.dlq, group: g }
`})
	m, _ := graphJSON(t, dir, exitOK, "svc")
	want := []string{
		"rabbit:orders p= c=svc/bill-in-0 dl=",
		"rabbit:exchange:orders.billing.dlq p= c=svc/dead-in-0 dl=",
		"rabbit:queue:orders.billing.dlq p= c= dl=svc/bill-in-0",
	}
	if got := destSummary(m); !reflect.DeepEqual(got, want) {
		t.Errorf("destinations\n%q\nwant\n%q", got, want)
	}
	r := runIn(t, dir, nil, "graph", "svc")
	if !strings.Contains(r.stderr, "note: dead letters of bill-in-0 go to orders.billing.dlq (rabbit queue), which no consumer reads\n") {
		t.Errorf("stderr %q", r.stderr)
	}
	for _, want := range []string{
		`dest_rabbit_exchange_orders_billing_dlq -->|"dead-in-0<br/>queue orders.billing.dlq.g"| svc__dead`,
		`svc__bill -.->|"dead letters<br/>bill-in-0"| dest_rabbit_queue_orders_billing_dlq`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("mermaid has no %q:\n%s", want, r.stdout)
		}
	}
}

// In-process destinations are one binder's of one process: not joined
// across services, nor across two in-process binders of one service; and
// their partitions are not compared across them.
func TestGraphInProcessDestinations(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a/application.yaml": "stream:\n  output-bindings: orders-out\n  bindings:\n    orders-out: { destination: orders, producer: { partition-count: 2, partition-key-expression: headers.id } }\n",
		"b/application.yaml": "stream:\n  output-bindings: orders-out\n  bindings:\n    orders-out: { destination: orders }\n",
		"two/application.yaml": `stream:
  binders:
    x: { type: memory }
    y: { type: memory, default-candidate: false }
  function:
    definition: f;g
  bindings:
    f-out-0: { binder: x, destination: d }
    g-in-0: { binder: y, destination: d, group: gg }
`,
	})
	m, r := graphJSON(t, dir, exitOK, "a", "b", "two")
	if r.stderr != "" {
		t.Errorf("stderr %q", r.stderr)
	}
	want := []string{
		"memory:d@two/x p=two/f-out-0 c= dl=",
		"memory:d@two/y p= c=two/g-in-0 dl=",
		"memory:orders@a/memory p=a/orders-out c= dl=",
		"memory:orders@b/memory p=b/orders-out c= dl=",
	}
	if got := destSummary(m); !reflect.DeepEqual(got, want) {
		t.Errorf("destinations\n%q\nwant\n%q", got, want)
	}
	for _, f := range m.Findings {
		if f.Kind == "partitions" {
			t.Errorf("finding %+v", f)
		}
	}
	r = runIn(t, dir, nil, "graph", "a", "b", "two")
	if r.code != exitOK || strings.Contains(r.stderr, "partition") || strings.Contains(r.stdout, "dest_memory_d_two_x -->") {
		t.Errorf("exit status %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
	}
}

// graph reports the errors lint reports (lint's checks), and exits 1.
func TestGraphReportsLintErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"anon/application.yaml": "stream:\n  function: { definition: f }\n  bindings:\n    f-in-0: { destination: orders, consumer: { dlq: true } }\n",
		"p/application.yaml": "stream:\n  default-binder: kafka\n  output-bindings: o\n  bindings:\n" +
			"    o: { destination: t, producer: { partition-count: 2, partition-key-expression: headers.id } }\n",
		"c/application.yaml": "stream:\n  default-binder: kafka\n  function: { definition: f }\n  bindings:\n" +
			"    f-in-0: { destination: t, group: g, consumer: { partitioned: true, instance-count: 3, instance-index: 0 } }\n",
	})
	for _, paths := range [][]string{{"anon"}, {"p", "c"}} {
		lint := runIn(t, dir, nil, append([]string{"lint"}, paths...)...)
		var lintErrs []string // its errors, not its warnings
		for _, l := range strings.SplitAfter(lint.stdout, "\n") {
			if l != "" && !strings.Contains(l, ": warning: ") {
				lintErrs = append(lintErrs, l)
			}
		}
		if lint.code != exitFailure || len(lintErrs) == 0 {
			t.Fatalf("lint %v: exit status %d, stdout %q", paths, lint.code, lint.stdout)
		}
		for _, format := range []string{"mermaid", "json"} {
			r := runIn(t, dir, nil, append([]string{"graph", "--format", format}, paths...)...)
			var errs []string
			for _, l := range strings.SplitAfter(r.stderr, "\n") {
				if l != "" && !strings.HasPrefix(l, "note: ") {
					errs = append(errs, l)
				}
			}
			if r.code != exitFailure || !reflect.DeepEqual(errs, lintErrs) {
				t.Errorf("graph --format %s %v: exit status %d, errors %q, want lint's %q", format, paths, r.code, errs, lintErrs)
			}
		}
	}
	// The partitions finding names its destination, once (not once for
	// each of two producers that disagree).
	writeFileIn(t, dir, "p3/application.yaml", "stream:\n  default-binder: kafka\n  output-bindings: o3\n  bindings:\n"+
		"    o3: { destination: t, producer: { partition-count: 3, partition-key-expression: headers.id } }\n")
	for _, paths := range [][]string{{"p", "c"}, {"p", "p3"}} {
		m, _ := graphJSON(t, dir, exitFailure, paths...)
		var parts []string
		for _, f := range m.Findings {
			if f.Kind == "partitions" {
				parts = append(parts, f.DestinationID+" "+f.Destination+" "+f.BinderType)
			}
		}
		if want := []string{"kafka:t t kafka"}; !reflect.DeepEqual(parts, want) {
			t.Errorf("%v: partitions findings %q, want %q", paths, parts, want)
		}
	}
}

func writeFileIn(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
