package topology_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/topology"
)

func shop(t testing.TB) *stream.App {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "charge", func(_ context.Context, s string) (string, error) { return s, nil })
	stream.AddConsumer(fns, "audit", func(context.Context, string) error { return nil })
	cfg := &stream.Config{
		Function:       stream.FunctionConfig{Definition: "charge;audit"},
		OutputBindings: "orders-out",
		Bindings: map[string]stream.BindingConfig{
			"orders-out":   {Destination: "orders"},
			"charge-in-0":  {Destination: "orders", Group: "payment", Consumer: stream.ConsumerConfig{DLQ: true}},
			"charge-out-0": {Destination: "payments"},
			"audit-in-0":   {Destination: "payments,refunds", Group: "audit"},
		},
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func TestFromAppBuild(t *testing.T) {
	m := topology.Build([]topology.ServiceSpec{topology.FromApp(shop(t), "shop")})
	s := m.Services[0]
	var fns []string
	for _, f := range s.Functions {
		fns = append(fns, fmt.Sprintf("%s:%s:%v", f.Name, f.Kind, f.Bindings))
	}
	if want := []string{"charge:function:[charge-in-0 charge-out-0]", "audit:consumer:[audit-in-0]"}; !reflect.DeepEqual(fns, want) {
		t.Errorf("functions %v, want %v", fns, want)
	}
	var bs []string
	for _, b := range s.Bindings {
		bs = append(bs, fmt.Sprintf("%s %s %v %s %v", b.Name, b.Direction, b.Destinations, b.Group, b.DeadLetters))
	}
	want := []string{
		"charge-in-0 in [orders] payment [error.orders.payment]",
		"charge-out-0 out [payments]  []",
		"audit-in-0 in [payments refunds] audit []",
		"orders-out out [orders]  []",
	}
	if !reflect.DeepEqual(bs, want) {
		t.Errorf("bindings\n%q\nwant\n%q", bs, want)
	}
	var findings []string
	for _, f := range m.Findings {
		findings = append(findings, f.Kind+" "+f.Destination)
	}
	if want := []string{"dead-letters-unread error.orders.payment", "consumed-not-produced refunds"}; !reflect.DeepEqual(findings, want) {
		t.Errorf("findings %v, want %v", findings, want)
	}
	if len(s.Binders) != 1 || s.Binders[0] != (topology.Binder{Name: "memory", Type: "memory"}) {
		t.Errorf("binders %+v", s.Binders)
	}
}

// Services are joined by binder type and destination; RabbitMQ names
// queues and dead-letter queues as its binder does.
func TestBuildJoinsServices(t *testing.T) {
	in := topology.BindingSpec{Name: "ship-in-0", Function: "ship", Input: true, Configured: true, Destinations: []string{"orders"},
		Group: "shipping", BinderName: "rabbit", BinderType: "rabbit", Consumer: stream.ConsumerConfig{DLQ: true}}
	out := topology.BindingSpec{Name: "place-out-0", Function: "place", Configured: true, Destinations: []string{"orders"},
		BinderName: "rabbit", BinderType: "rabbit"}
	m := topology.Build([]topology.ServiceSpec{
		{Name: "orders", Functions: []topology.FunctionSpec{{Name: "place", Kind: "supplier"}}, Bindings: []topology.BindingSpec{out}},
		{Name: "shipping", Functions: []topology.FunctionSpec{{Name: "ship", Kind: "consumer"}}, Bindings: []topology.BindingSpec{in}},
	})
	var got []string
	for _, d := range m.Destinations {
		got = append(got, fmt.Sprintf("%s dl=%v p=%v c=%v", d.ID, d.DeadLetter, d.Producers, d.Consumers))
	}
	want := []string{
		"rabbit:orders dl=false p=[{orders place-out-0 }] c=[{shipping ship-in-0 shipping}]",
		"rabbit:orders.shipping.dlq dl=true p=[] c=[]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("destinations\n%q\nwant\n%q", got, want)
	}
	if q := m.Services[1].Bindings[0].Queues; !reflect.DeepEqual(q, []string{"orders.shipping"}) {
		t.Errorf("queues %v", q)
	}
	if len(m.Findings) != 1 || m.Findings[0].Message != "dead letters of shipping/ship-in-0 go to orders.shipping.dlq (rabbit), which no consumer reads" {
		t.Errorf("findings %+v", m.Findings)
	}
}

func ExampleBuild() {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "upper", func(_ context.Context, s string) (string, error) { return s, nil })
	cfg := &stream.Config{Bindings: map[string]stream.BindingConfig{
		"upper-in-0": {Destination: "words", Group: "g"}, "upper-out-0": {Destination: "shouts"},
	}}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New))
	if err != nil {
		fmt.Println(err)
		return
	}
	m := topology.Build([]topology.ServiceSpec{topology.FromApp(app, "upper-service")})
	enc := json.NewEncoder(os.Stdout)
	for _, f := range m.Findings {
		_ = enc.Encode(f)
	}
	// Output:
	// {"kind":"produced-not-consumed","destination_id":"memory:shouts","destination":"shouts","binder_type":"memory","message":"shouts (memory) is produced by upper-out-0 but consumed by none"}
	// {"kind":"consumed-not-produced","destination_id":"memory:words","destination":"words","binder_type":"memory","message":"words (memory) is consumed by upper-in-0 but produced by none"}
}

// destinations lists the model's destinations as "id c=consumers p=producers
// dl=dead-letters-of" (refs as service/binding).
func destinations(m *topology.Model) []string {
	refs := func(rs []topology.Ref) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.Service+"/"+r.Binding)
		}
		return strings.Join(s, ",")
	}
	var out []string
	for _, d := range m.Destinations {
		out = append(out, fmt.Sprintf("%s p=%s c=%s dl=%s", d.ID, refs(d.Producers), refs(d.Consumers), refs(d.DeadLettersOf)))
	}
	return out
}

func findingsOf(m *topology.Model) []string {
	var out []string
	for _, f := range m.Findings {
		out = append(out, f.Kind+" "+f.DestinationID+": "+f.Message)
	}
	return out
}

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Services of the same name (two directories' services, two instances'
// configurations) are two services: IDs tell them apart.
func TestBuildServicesOfOneName(t *testing.T) {
	out := topology.BindingSpec{Name: "p-out-0", Function: "p", Configured: true, Destinations: []string{"t"}, BinderName: "kafka", BinderType: "kafka"}
	in := topology.BindingSpec{Name: "p-in-0", Function: "p", Input: true, Configured: true, Destinations: []string{"t"}, Group: "g", BinderName: "kafka", BinderType: "kafka"}
	m := topology.Build([]topology.ServiceSpec{
		{Name: "svc", Functions: []topology.FunctionSpec{{Name: "p", Kind: "supplier"}}, Bindings: []topology.BindingSpec{out}},
		{Name: "svc", Functions: []topology.FunctionSpec{{Name: "p", Kind: "consumer"}}, Bindings: []topology.BindingSpec{in}},
		{Name: "other"},
	})
	var ids []string
	for _, s := range m.Services {
		ids = append(ids, s.ID+"="+s.Name)
	}
	check(t, "services", ids, []string{"svc#1=svc", "svc#2=svc", "other=other"})
	check(t, "destinations", destinations(m), []string{"kafka:t p=svc#1/p-out-0 c=svc#2/p-in-0 dl="})
	if got := m.Services[1].Bindings[0].DestinationIDs; !reflect.DeepEqual(got, []string{"kafka:t"}) {
		t.Errorf("destination IDs %v", got)
	}
}

// The dead-letter destination is the binder's (DeadLetterSource) when the
// caller gives it, else named by the binders' rules, settings included.
func TestDeadLetterNames(t *testing.T) {
	in := func(typ string, ext map[string]any) *topology.BindingSpec {
		return &topology.BindingSpec{Name: "f-in-0", Input: true, Configured: true, Destinations: []string{"raw"}, Group: "proc",
			BinderName: typ, BinderType: typ, Consumer: stream.ConsumerConfig{DLQ: true}, Extension: ext}
	}
	for _, tc := range []struct {
		b    *topology.BindingSpec
		want string
	}{
		{in("rabbit", nil), "raw.proc.dlq"},
		{in("rabbit", map[string]any{"dead-letter-queue-name": "raw-dead-q"}), "raw-dead-q"},
		{in("rabbit", map[string]any{"deadLetterQueueName": "raw-dead-q", "queue-name-group-only": true}), "raw-dead-q"},
		{in("rabbit", map[string]any{"queue-name-group-only": true}), "proc.dlq"},
		{in("redis", map[string]any{"dlq-name": "raw-dead"}), "raw-dead"},
		{in("kafka", map[string]any{"dlqName": "raw-dead"}), "raw-dead"},
		{in("nats", map[string]any{"dlq-name": "raw-dead"}), "raw-dead"},
		{in("memory", nil), "error.raw.proc"},
	} {
		if got := topology.DeadLetters(tc.b); !reflect.DeepEqual(got, []string{tc.want}) {
			t.Errorf("%s %v: %v, want %s", tc.b.BinderType, tc.b.Extension, got, tc.want)
		}
	}
	b := in("rabbit", nil)
	b.DeadLetterSource = func(spec stream.ConsumerSpec) (stream.DeadLetterSource, error) {
		return stream.DeadLetterSource{Destination: "my-dlx", Group: spec.Destination + "-by-binder"}, nil
	}
	if got := topology.DeadLetters(b); !reflect.DeepEqual(got, []string{"raw-by-binder"}) {
		t.Errorf("with the binder's DeadLetterSource: %v", got)
	}
}

// A RabbitMQ dead-letter queue named by dead-letter-queue-name is where a
// dead-letters-of reader (its group the queue, queue-name-group-only, on
// the exchange DLX) reads.
func TestBuildRabbitDeadLetterQueueName(t *testing.T) {
	f := topology.BindingSpec{Name: "f-in-0", Function: "f", Input: true, Configured: true, Destinations: []string{"raw"}, Group: "proc",
		BinderName: "rabbit", BinderType: "rabbit", Consumer: stream.ConsumerConfig{DLQ: true},
		Extension: map[string]any{"dead-letter-queue-name": "raw-dead-q"}}
	reader := topology.BindingSpec{Name: "audit-in-0", Function: "audit", Input: true, Configured: true, Destinations: []string{"DLX"}, Group: "raw-dead-q",
		BinderName: "rabbit", BinderType: "rabbit", Extension: map[string]any{"queue-name-group-only": true}}
	m := topology.Build([]topology.ServiceSpec{{Name: "s", Bindings: []topology.BindingSpec{f, reader}}})
	check(t, "destinations", destinations(m), []string{
		"rabbit:raw p= c=s/f-in-0 dl=",
		"rabbit:raw-dead-q p= c=s/audit-in-0 dl=s/f-in-0",
	})
	check(t, "findings", findingsOf(m), []string{"consumed-not-produced rabbit:raw: raw (rabbit) is consumed by f-in-0 but produced by none"})
}

// A RabbitMQ exchange is no queue of the same name: a consumer of the
// exchange orders.billing.dlq does not read the dead-letter queue
// orders.billing.dlq.
func TestBuildRabbitExchangeIsNoQueue(t *testing.T) {
	billing := topology.BindingSpec{Name: "bill-in-0", Function: "bill", Input: true, Configured: true, Destinations: []string{"orders"}, Group: "billing",
		BinderName: "rabbit", BinderType: "rabbit", Consumer: stream.ConsumerConfig{DLQ: true}}
	mistaken := topology.BindingSpec{Name: "dead-in-0", Function: "dead", Input: true, Configured: true, Destinations: []string{"orders.billing.dlq"}, Group: "g",
		BinderName: "rabbit", BinderType: "rabbit"}
	m := topology.Build([]topology.ServiceSpec{{Name: "s", Bindings: []topology.BindingSpec{billing, mistaken}}})
	check(t, "destinations", destinations(m), []string{
		"rabbit:orders p= c=s/bill-in-0 dl=",
		"rabbit:exchange:orders.billing.dlq p= c=s/dead-in-0 dl=",
		"rabbit:queue:orders.billing.dlq p= c= dl=s/bill-in-0",
	})
	check(t, "findings", findingsOf(m), []string{
		"consumed-not-produced rabbit:orders: orders (rabbit) is consumed by bill-in-0 but produced by none",
		"consumed-not-produced rabbit:exchange:orders.billing.dlq: orders.billing.dlq (rabbit exchange) is consumed by dead-in-0 but produced by none",
		"dead-letters-unread rabbit:queue:orders.billing.dlq: dead letters of bill-in-0 go to orders.billing.dlq (rabbit queue), which no consumer reads",
	})
	if got := m.Services[0].Bindings[0].DeadLetterIDs; !reflect.DeepEqual(got, []string{"rabbit:queue:orders.billing.dlq"}) {
		t.Errorf("dead-letter IDs %v", got)
	}
}

// SCSt's RabbitMQ prefix names the exchange and the queues: a producer
// and a consumer of one prefix meet on <prefix><destination>, and one
// without it is on another exchange; the DLQ is
// <prefix><destination>.<group>.dlq.
func TestBuildRabbitPrefix(t *testing.T) {
	dev := map[string]any{"prefix": "dev."}
	out := topology.BindingSpec{Name: "o-out-0", Function: "o", Configured: true, Destinations: []string{"orders"},
		BinderName: "rabbit", BinderType: "rabbit", Extension: dev}
	in := topology.BindingSpec{Name: "bill-in-0", Function: "bill", Input: true, Configured: true, Destinations: []string{"orders"}, Group: "billing",
		BinderName: "rabbit", BinderType: "rabbit", Consumer: stream.ConsumerConfig{DLQ: true}, Extension: dev}
	plain := topology.BindingSpec{Name: "ship-in-0", Function: "ship", Input: true, Configured: true, Destinations: []string{"orders"}, Group: "shipping",
		BinderName: "rabbit", BinderType: "rabbit"}
	m := topology.Build([]topology.ServiceSpec{{Name: "s", Bindings: []topology.BindingSpec{out, in, plain}}})
	check(t, "destinations", destinations(m), []string{
		"rabbit:dev.orders p=s/o-out-0 c=s/bill-in-0 dl=",
		"rabbit:dev.orders.billing.dlq p= c= dl=s/bill-in-0",
		"rabbit:orders p= c=s/ship-in-0 dl=",
	})
	if got := topology.RabbitQueues(&in); !reflect.DeepEqual(got, []string{"dev.orders.billing"}) {
		t.Errorf("queues %v", got)
	}
}

// In-process destinations are one binder's of one service: they do not
// join across services, nor across two in-process binders of one service.
func TestBuildInProcessDestinations(t *testing.T) {
	b := func(name, binder string, input bool) topology.BindingSpec {
		s := topology.BindingSpec{Name: name, Input: input, Configured: true, Destinations: []string{"x"}, BinderName: binder, BinderType: "memory"}
		if input {
			s.Group = "g"
		}
		return s
	}
	m := topology.Build([]topology.ServiceSpec{
		{Name: "one", Bindings: []topology.BindingSpec{b("f-out-0", "a", false), b("g-in-0", "b", true)}},
		{Name: "two", Bindings: []topology.BindingSpec{b("h-out-0", "memory", false), b("k-in-0", "memory", true)}},
		{Name: "kafka", Bindings: []topology.BindingSpec{{Name: "o-out-0", Configured: true, Destinations: []string{"x"}, BinderName: "kafka", BinderType: "kafka"}}},
	})
	check(t, "destinations", destinations(m), []string{
		"kafka:x p=kafka/o-out-0 c= dl=",
		"memory:x@one/a p=one/f-out-0 c= dl=",
		"memory:x@one/b p= c=one/g-in-0 dl=",
		"memory:x@two/memory p=two/h-out-0 c=two/k-in-0 dl=",
	})
	check(t, "findings", findingsOf(m), []string{
		"produced-not-consumed kafka:x: x (kafka) is produced by kafka/o-out-0 but consumed by none",
		"produced-not-consumed memory:x@one/a: x (memory, binder a of one) is produced by one/f-out-0 but consumed by none",
		"consumed-not-produced memory:x@one/b: x (memory, binder b of one) is consumed by one/g-in-0 but produced by none",
	})
	if d := m.Destinations[1]; d.Service != "one" || d.Binder != "a" {
		t.Errorf("service and binder of %s: %q %q", d.ID, d.Service, d.Binder)
	}
}

// dlqBinder is an in-process binder that names dead letters its own way.
type dlqBinder struct{ stream.Binder }

func (dlqBinder) DeadLetterSource(spec stream.ConsumerSpec) (stream.DeadLetterSource, error) {
	return stream.DeadLetterSource{Destination: "dead-" + spec.Destination + "-" + spec.Group}, nil
}

// FromApp names the dead letters as the app's binder does.
func TestFromAppDeadLettersByBinder(t *testing.T) {
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "charge", func(context.Context, string) error { return nil })
	cfg := &stream.Config{Bindings: map[string]stream.BindingConfig{
		"charge-in-0": {Destination: "orders", Group: "payment", Consumer: stream.ConsumerConfig{DLQ: true}},
	}}
	factory := func(ctx context.Context, s stream.BinderSettings) (stream.Binder, error) {
		b, err := memory.New(ctx, s)
		return dlqBinder{b}, err
	}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType("own", factory))
	if err != nil {
		t.Fatal(err)
	}
	m := topology.Build([]topology.ServiceSpec{topology.FromApp(app, "shop")})
	if got := m.Services[0].Bindings[0].DeadLetters; !reflect.DeepEqual(got, []string{"dead-orders-payment"}) {
		t.Errorf("dead letters %v, want the binder's dead-orders-payment", got)
	}
}

// A partitioned RabbitMQ consumer's queue is <base>-<instance-index>, with
// queue-name-group-only too (the binder's queueName).
func TestRabbitQueues(t *testing.T) {
	b := topology.BindingSpec{Name: "f-in-0", Input: true, Configured: true, Destinations: []string{"orders"}, Group: "g",
		BinderName: "rabbit", BinderType: "rabbit", Consumer: stream.ConsumerConfig{Partitioned: true, InstanceIndex: 1, InstanceCount: 2}}
	if got := topology.RabbitQueues(&b); !reflect.DeepEqual(got, []string{"orders.g-1"}) {
		t.Errorf("queues %v", got)
	}
	b.Extension = map[string]any{"queue-name-group-only": true}
	if got := topology.RabbitQueues(&b); !reflect.DeepEqual(got, []string{"g-1"}) {
		t.Errorf("queues with queue-name-group-only %v, want g-1", got)
	}
}

// TestUnreadCopiesDeadLettersOf: Unread's DeadLettersOf is a copy, so a
// caller that changes it leaves the model's destination as it was.
func TestUnreadCopiesDeadLettersOf(t *testing.T) {
	m := topology.Build([]topology.ServiceSpec{topology.FromApp(shop(t), "shop")})
	us := topology.Unread(m, "")
	if len(us) != 1 || len(us[0].DeadLettersOf) != 1 {
		t.Fatalf("Unread %+v, want one finding with one binding", us)
	}
	us[0].DeadLettersOf[0].Binding = "changed"
	for _, d := range m.Destinations {
		for _, r := range d.DeadLettersOf {
			if r.Binding == "changed" {
				t.Errorf("destination %s of the model changed through Unread's result: %+v", d.ID, d.DeadLettersOf)
			}
		}
	}
}
