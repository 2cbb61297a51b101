package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streambind/streambind/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/graph")

// golden compares got with testdata/graph/name, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "graph", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s is not current (go test ./cmd/streambind -run %s -update rewrites it); got:\n%s", p, t.Name(), got)
	}
}

// shopDir copies the demo's configuration files (application*.yaml of the
// module root) into a directory named shop, so that the service has the
// same name wherever the module is checked out, and returns its parent.
func shopDir(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(demoDir, "application*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("the demo's configuration: %v (%d files)", err, len(files))
	}
	m := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Join("shop", filepath.Base(f))] = string(data)
	}
	return writeFiles(t, m)
}

func TestGraphDemo(t *testing.T) {
	dir := shopDir(t)
	for _, tc := range []struct{ profile, format, file string }{
		{"", "mermaid", "shop.mmd"},
		{"", "dot", "shop.dot"},
		{"", "json", "shop.json"},
		{"kafka", "mermaid", "shop-kafka.mmd"},
		{"rabbit", "mermaid", "shop-rabbit.mmd"},
		{"rabbit", "dot", "shop-rabbit.dot"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			args := []string{"graph", "--format", tc.format, "shop"}
			if tc.profile != "" {
				args = append(args, "--profile", tc.profile)
			}
			r := runIn(t, dir, nil, args...)
			if r.code != exitOK {
				t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
			}
			golden(t, tc.file, r.stdout)
			if tc.format != "json" {
				want := "note: stock (" + map[string]string{"": "memory", "kafka": "kafka", "rabbit": "rabbit"}[tc.profile] +
					") is produced by reserveStock-out-0 but consumed by none\n"
				if r.stderr != want {
					t.Errorf("stderr %q, want %q", r.stderr, want)
				}
			}
		})
	}
}

func TestGraphSystem(t *testing.T) {
	services := []string{"system/orders", "system/billing", "system/shipping/application.yaml"}
	for _, tc := range []struct{ format, file string }{
		{"mermaid", "system.mmd"},
		{"dot", "system.dot"},
		{"json", "system.json"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			// The system has an error (lint's): trackParcel-in-0's
			// instance-count does not fit the partitions of orders.
			const partitions = "system/shipping/application.yaml:33: stream.bindings.trackParcel-in-0.consumer.instance-count: is 8, but orders/placeOrder-out-0 (system/orders/application.yaml:17) sends to orders with partition-count 4: Kafka gives each partition to one instance, so 4 of the 8 instances receive nothing\n"
			r := runIn(t, "testdata", nil, append([]string{"graph", "--format", tc.format}, services...)...)
			if r.code != exitFailure {
				t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
			}
			golden(t, tc.file, r.stdout)
			if tc.format == "json" {
				if r.stderr != partitions {
					t.Errorf("stderr %q, want only the error (the findings are in the JSON)", r.stderr)
				}
				return
			}
			if !strings.HasSuffix(r.stderr, "\n"+partitions) {
				t.Errorf("stderr %q, want the notes, then the error", r.stderr)
			}
			golden(t, "system.notes", r.stderr)
		})
	}
}

// The JSON model joins producers and consumers across services by binder
// type and destination, and names the findings.
func TestGraphSystemJoins(t *testing.T) {
	r := runIn(t, "testdata", nil, "graph", "--format", "json", "system/orders", "system/billing", "system/shipping")
	if r.code != exitFailure { // the partitions of orders (TestGraphSystem)
		t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
	}
	var m graphModel
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatal(err)
	}
	dests := map[string]topology.Destination{}
	for _, d := range m.Destinations {
		dests[d.ID] = d
	}
	orders := dests["kafka:orders"]
	if len(orders.Producers) != 1 || orders.Producers[0] != (graphRef{Service: "orders", Binding: "placeOrder-out-0"}) {
		t.Errorf("producers of kafka:orders: %+v", orders.Producers)
	}
	want := []graphRef{{Service: "billing", Binding: "chargeCustomer-in-0", Group: "billing"}, {Service: "shipping", Binding: "trackParcel-in-0", Group: "shipping"}}
	if len(orders.Consumers) != 2 || orders.Consumers[0] != want[0] || orders.Consumers[1] != want[1] {
		t.Errorf("consumers of kafka:orders: %+v, want %+v", orders.Consumers, want)
	}
	// payments is on RabbitMQ in both services (binder "bus" in billing).
	if p := dests["rabbit:payments"]; len(p.Producers) != 1 || len(p.Consumers) != 1 {
		t.Errorf("rabbit:payments: %+v", p)
	}
	if d := dests["kafka:error.orders.billing"]; !d.DeadLetter || len(d.Consumers) != 1 || d.Consumers[0].Binding != "reconcile-in-0" {
		t.Errorf("kafka:error.orders.billing: %+v", d)
	}
	kinds := map[string][]string{}
	for _, f := range m.Findings {
		kinds[f.Kind] = append(kinds[f.Kind], f.BinderType+":"+f.Destination)
	}
	for kind, want := range map[string]string{
		"dead-letters-unread":   "kafka:error.refunds.orders rabbit:payments.shipping.dlq",
		"produced-not-consumed": "kafka:order-events rabbit:shipments",
		"consumed-not-produced": "kafka:refunds",
		"partitions":            "kafka:orders",
	} {
		if got := strings.Join(kinds[kind], " "); got != want {
			t.Errorf("findings %s: %q, want %q", kind, got, want)
		}
	}
}

// On RabbitMQ a dead-letter queue is read through its queue name: the
// demo's audit service reads orders.payment.dlq with
// queue-name-group-only, so the DLQ is read and DLX is no destination.
func TestGraphRabbitDeadLetterQueue(t *testing.T) {
	r := runIn(t, shopDir(t), nil, "graph", "--format", "json", "--profile", "rabbit", "shop")
	var m graphModel
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range m.Destinations {
		ids = append(ids, d.ID)
		if d.ID == "rabbit:orders.payment.dlq" && (len(d.Consumers) != 1 || d.Consumers[0].Binding != "auditDeadLetters-in-0") {
			t.Errorf("consumers of the DLQ: %+v", d.Consumers)
		}
	}
	if got := strings.Join(ids, " "); got != "rabbit:orders rabbit:orders.payment.dlq rabbit:payments rabbit:stock" {
		t.Errorf("destinations %s", got)
	}
}

func TestGraphUsage(t *testing.T) {
	r := runIn(t, "testdata", nil, "graph", "--format", "png", "system/orders")
	if r.code != exitUsage || !strings.Contains(r.stderr, `--format: want mermaid, dot or json, got "png"`) {
		t.Errorf("exit status %d, stderr %q", r.code, r.stderr)
	}
	r = runIn(t, "testdata", nil, "graph", "--help")
	if r.code != exitOK || !strings.Contains(r.stdout, "streambind graph --format dot") {
		t.Errorf("help: exit status %d, stdout %q", r.code, r.stdout)
	}
	// A broken configuration is drawn, its problems are on stderr, and the
	// exit status says so.
	r = runIn(t, "testdata", nil, "graph", "lint/broken")
	if r.code != exitFailure || !strings.HasPrefix(r.stdout, "flowchart LR\n") ||
		!strings.Contains(r.stderr, "lint/broken/application.yaml:48: logging.level: want trace, debug, info, warn, error, fatal or off (any case), got \"loud\"") {
		t.Errorf("exit status %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// The README shows the demo's graph; it must be what graph draws.
func TestReadmeGraphIsCurrent(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(demoDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- streambind graph of the demo: begin -->\n```mermaid\n", "```\n<!-- streambind graph of the demo: end -->"
	_, rest, ok := strings.Cut(string(data), begin)
	block, _, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("README.md has no block between %q and %q", begin, end)
	}
	r := runIn(t, shopDir(t), nil, "graph", "shop")
	if r.code != exitOK {
		t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
	}
	if block != r.stdout {
		t.Errorf("README.md's graph of the demo is not current; it should be:\n%s", r.stdout)
	}
}
