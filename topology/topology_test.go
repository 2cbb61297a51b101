package topology_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
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
	// {"kind":"produced-not-consumed","destination":"shouts","binder_type":"memory","message":"shouts (memory) is produced by upper-out-0 but consumed by none"}
	// {"kind":"consumed-not-produced","destination":"words","binder_type":"memory","message":"words (memory) is consumed by upper-in-0 but produced by none"}
}
