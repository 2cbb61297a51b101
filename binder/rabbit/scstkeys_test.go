package rabbit

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestSCStExchangeFlags: SCSt's exchange-durable and exchange-auto-delete
// are the flags the destination exchange is declared with, by a consumer
// and by a producer: redeclaring it with the other flag is refused by the
// broker ("inequivalent arg"). The DLX stays durable. Before, both keys
// were unknown.
func TestSCStExchangeFlags(t *testing.T) {
	t.Parallel()
	b, vhost := scstKeysBinder(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in, out := uniqueDest(t, "xflags-in"), uniqueDest(t, "xflags-out")
	flags := map[string]any{"exchange-durable": false, "exchange-auto-delete": "true"}
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "x-in-0", Destination: in, Group: "g",
		Consumer: stream.ConsumerConfig{DLQ: true}, Extension: flags,
		Handler: func(context.Context, stream.Envelope) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if _, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: out,
		Producer: stream.ProducerConfig{RequiredGroups: []string{"g"}}, Extension: flags}); err != nil {
		t.Fatal(err)
	}

	conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// declare declares an exchange on a channel of its own (a refusal
	// closes the channel) and returns the broker's answer.
	declare := func(name, kind string, durable, autoDelete bool) error {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		return ch.ExchangeDeclare(name, kind, durable, autoDelete, false, false, nil)
	}
	for _, x := range []string{in, out} {
		if err := declare(x, "topic", false, true); err != nil {
			t.Errorf("exchange %s is not transient and auto-delete: %v", x, err)
		}
		var ae *amqp.Error
		if err := declare(x, "topic", true, true); !errors.As(err, &ae) || !strings.Contains(ae.Reason, "durable") {
			t.Errorf("declaring %s durable: %v, want inequivalent arg 'durable'", x, err)
		}
		if err := declare(x, "topic", false, false); !errors.As(err, &ae) || !strings.Contains(ae.Reason, "auto_delete") {
			t.Errorf("declaring %s without auto-delete: %v, want inequivalent arg 'auto_delete'", x, err)
		}
	}
	if err := declare(DLXName, DefaultDeadLetterExchangeType, true, false); err != nil {
		t.Errorf("the DLX is not durable as before: %v", err)
	}
}

// scstKeysBinder is a binder with the binder settings env in a virtual
// host of the test's own, which it returns.
func scstKeysBinder(t *testing.T, env map[string]any) (*Binder, string) {
	t.Helper()
	vhost := rabbittest.VHost(t)
	e := map[string]any{"addresses": rabbittest.Address(), "virtual-host": vhost, "reconnect-initial-interval": "50ms"}
	for k, v := range env {
		e[k] = v
	}
	b, err := New(context.Background(), stream.BinderSettings{Name: "scst", Type: Type, Logger: testLogger(), Environment: e})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("close binder: %v", err)
		}
	})
	return b.(*Binder), vhost
}

var connectionNameRE = regexp.MustCompile(`\{"connection_name","([^"]*)"\}`)

// TestSCStNamePrefixes: SCSt's consumer-tag-prefix tags a binding's
// consumers <prefix>#<n> (n from 0, counted across the binding's
// destinations), and the binder's connection-name-prefix names its
// connections <prefix>#<n>, as SCSt's tag and connection name strategies
// do; the broker shows both. Before, both keys were unknown.
func TestSCStNamePrefixes(t *testing.T) {
	t.Parallel()
	b, vhost := scstKeysBinder(t, map[string]any{"connection-name-prefix": "orders-app"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d1, d2 := uniqueDest(t, "tag1"), uniqueDest(t, "tag2")
	c, err := b.BindConsumer(ctx, stream.ConsumerSpec{Binding: "x-in-0", Destination: d1 + "," + d2, Group: "g",
		Extension: map[string]any{"consumer-tag-prefix": "orders-x"},
		Handler:   func(context.Context, stream.Envelope) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop(context.Background())
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: d1})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(ctx, stream.Envelope{Payload: []byte("x")}); err != nil {
		t.Fatal(err) // the publisher connection is open
	}

	var tags []string
	for _, line := range strings.Split(rabbittest.Ctl(t, "-s", "list_consumers", "-p", vhost, "consumer_tag"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			tags = append(tags, line)
		}
	}
	slices.Sort(tags)
	if want := []string{"orders-x#0", "orders-x#1"}; !slices.Equal(tags, want) {
		t.Errorf("consumer tags %q, want %q", tags, want)
	}

	var names []string
	for _, line := range strings.Split(rabbittest.Ctl(t, "-s", "list_connections", "vhost", "client_properties"), "\n") {
		f := strings.SplitN(line, "\t", 2)
		if len(f) < 2 || f[0] != vhost {
			continue
		}
		if m := connectionNameRE.FindStringSubmatch(f[1]); m != nil {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	if want := []string{"orders-app#0", "orders-app#1"}; !slices.Equal(names, want) {
		t.Errorf("connection names %q, want %q", names, want)
	}
}
