package kafka_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// kcatPath returns the kcat binary; without it the test is skipped loudly,
// or fails when CI=true (CI installs it: see .ci/run).
func kcatPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"kcat", "kafkacat"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("kcat is not installed (apt-get install -y kcat); CI=true requires the interop tests")
	}
	t.Skip("SKIPPING kafka/kcat interop: kcat is not installed (apt-get install -y kcat)")
	return ""
}

func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcatPath(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %v: %v\nstderr: %s", args, err, errOut.String())
	}
	return out.String()
}

type order struct {
	ID       string `json:"id"`
	Customer string `json:"customerId"`
	Quantity int    `json:"quantity"`
}

// TestKcatProducesBinderConsumes: kcat sends JSON with a contentType
// header; the binder's consumer receives it and it decodes.
func TestKcatProducesBinderConsumes(t *testing.T) {
	t.Parallel()
	kcatPath(t)
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	got := make(chan stream.Envelope, 10)
	startConsumer(t, b, consumerSpec(dest, "g", func(_ context.Context, m stream.Envelope) error {
		got <- m
		return nil
	}))
	var in strings.Builder
	for i := range 3 {
		fmt.Fprintf(&in, `{"id":"o-%d","customerId":"c-%d","quantity":%d}`+"\n", i, i, i+1)
	}
	kcat(t, in.String(), "-P", "-b", c.Brokers(), "-t", dest, "-H", "contentType=application/json")
	seen := map[string]bool{}
	timeout := time.After(faultTimeout)
	for len(seen) < 3 {
		select {
		case m := <-got:
			if ct := m.ContentType(""); ct != "application/json" {
				t.Errorf("contentType %q", ct)
			}
			var o order
			if err := json.Unmarshal(m.Payload, &o); err != nil {
				t.Fatalf("payload %q: %v", m.Payload, err)
			}
			n, _ := strconv.Atoi(strings.TrimPrefix(o.ID, "o-"))
			if o.Quantity != n+1 || o.Customer != "c-"+strconv.Itoa(n) {
				t.Errorf("decoded %+v", o)
			}
			seen[o.ID] = true
		case <-timeout:
			t.Fatalf("received %d of 3", len(seen))
		}
	}
}

// TestBinderProducesKcatConsumes: kcat reads the value and the headers
// contentType, id and scst_partition of what the binder sent.
func TestBinderProducesKcatConsumes(t *testing.T) {
	t.Parallel()
	kcatPath(t)
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	p := bindProducer(t, b, dest, 3)
	ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
	defer cancel()
	for i := range 3 {
		env := stream.Envelope{Payload: []byte(`{"n":` + strconv.Itoa(i) + `}`), Key: []byte("k" + strconv.Itoa(i)),
			Headers: stream.Headers{stream.HeaderPartition: strconv.Itoa(i)}}
		if err := p.Send(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	out := kcat(t, "", "-C", "-b", c.Brokers(), "-t", dest, "-o", "beginning", "-c", "3", "-f", "%p|%k|%s|%h\n")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("kcat output:\n%s", out)
	}
	for _, l := range lines {
		f := strings.SplitN(l, "|", 4)
		if len(f) != 4 {
			t.Fatalf("line %q", l)
		}
		part, key, val, hdrs := f[0], f[1], f[2], f[3]
		if !strings.Contains(hdrs, "contentType=application/json") || !strings.Contains(hdrs, "id=") || !strings.Contains(hdrs, "scst_partition="+part) {
			t.Errorf("partition %s: headers %q lack contentType, id or scst_partition=%s", part, hdrs, part)
		}
		if key != "k"+part || val != `{"n":`+part+`}` {
			t.Errorf("partition %s: key %q value %q", part, key, val)
		}
	}
	t.Logf("kcat read:\n%s", out)
}

// TestKcatReadsDLQ: kcat reads a dead letter with its exception and
// original-topic headers.
func TestKcatReadsDLQ(t *testing.T) {
	t.Parallel()
	kcatPath(t)
	c := kafkatest.Start(t)
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	dest := uniqueTopic(t)
	spec := consumerSpec(dest, "payment", func(context.Context, stream.Envelope) error {
		return errors.New("quantity must be positive")
	})
	spec.Consumer.DLQ = true
	startConsumer(t, b, spec)
	p := bindProducer(t, b, dest, 1)
	ctx, cancel := context.WithTimeout(context.Background(), faultTimeout)
	defer cancel()
	if err := p.Send(ctx, stream.Envelope{Payload: []byte(`{"id":"bad"}`)}); err != nil {
		t.Fatal(err)
	}
	out := kcat(t, "", "-C", "-b", c.Brokers(), "-t", stream.DLQName(dest, "payment"), "-o", "beginning", "-c", "1", "-f", "%s|%h\n")
	if !strings.HasPrefix(out, `{"id":"bad"}|`) || !strings.Contains(out, "x-exception-message=quantity must be positive") ||
		!strings.Contains(out, "x-original-topic="+dest) || !strings.Contains(out, "x-exception-fqcn=") {
		t.Errorf("dead letter as kcat reads it:\n%s", out)
	}
}
