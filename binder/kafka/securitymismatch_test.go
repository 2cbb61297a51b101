package kafka_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestSecurityMismatchEndsStartUp: a client whose TLS or SASL settings do
// not match the broker's listener fails its bind at once with an error
// naming the likely cause, not as an unavailable broker (which start-up
// retries for its whole startup-timeout): TLS to a plain listener (kfake
// waits for a request of the size the ClientHello's first bytes spell,
// and the bind ended in "i/o timeout"), plain to a TLS listener (it ended
// in "unexpected EOF", with SASL "check the SASL mechanism and
// credentials"), no SASL to a SASL listener (a bare "unexpected EOF").
// A broker that is not there is still unavailable.
func TestSecurityMismatchEndsStartUp(t *testing.T) {
	t.Parallel()
	caFile, cert := testCA(t, t.TempDir())
	plain := kafkatest.Start(t)
	withTLS := kafkatest.Start(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	withSASL := kafkatest.Start(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "shop", "s3cr3t-Pa55"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := ln.Addr().String()
	ln.Close()
	sasl := map[string]any{"mechanism": "PLAIN", "username": "shop", "password": "s3cr3t-Pa55"}

	for _, tc := range []struct {
		name    string
		brokers string
		env     map[string]any
		want    []string // in the error; nil: unavailable
		notWant string
	}{
		{"TLS to a plain listener", plain.Brokers(), map[string]any{"tls": map[string]any{"ca-file": caFile}},
			[]string{"without TLS", "security.protocol"}, ""},
		{"plain to a TLS listener", withTLS.Brokers(), nil,
			[]string{"speaks TLS", "security.protocol"}, ""},
		{"SASL_PLAINTEXT to a TLS listener", withTLS.Brokers(), map[string]any{"sasl": sasl},
			[]string{"speaks TLS", "security.protocol"}, "check the SASL mechanism"},
		{"no SASL to a SASL listener", withSASL.Brokers(), nil,
			[]string{"requires SASL", "PLAIN"}, ""},
		{"no broker", gone, nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]any{"dial-timeout": "2s"}
			for k, v := range tc.env {
				env[k] = v
			}
			b := newBinderAt(t, tc.brokers, env)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for _, bind := range []func() error{
				func() error {
					_, err := b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: uniqueTopic(t)})
					return err
				},
				func() error {
					_, err := b.BindConsumer(ctx, consumerSpec(uniqueTopic(t), "g", func(context.Context, stream.Envelope) error { return nil }))
					return err
				},
			} {
				err := bind()
				switch {
				case err == nil:
					t.Fatal("bound")
				case tc.want == nil:
					if !errors.Is(err, stream.ErrUnavailable) {
						t.Errorf("not unavailable: %v", err)
					}
					continue
				case errors.Is(err, stream.ErrUnavailable):
					t.Errorf("taken for an unavailable broker (start-up would retry it): %v", err)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not say %q: %v", w, err)
					}
				}
				if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
					t.Errorf("error says %q: %v", tc.notWant, err)
				}
				t.Logf("error: %v", err)
			}
		})
	}
}

// newBinderAt is a binder for brokers, closed at cleanup.
func newBinderAt(t *testing.T, brokers string, env map[string]any) stream.Binder {
	t.Helper()
	e := map[string]any{"brokers": brokers}
	for k, v := range env {
		e[k] = v
	}
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "kafka", Type: kafka.Type, Environment: e, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	return b
}

// TestSilentBrokerNotProbedPastTheBind: a broker that accepts connections
// and never answers stays unavailable, and asking it about its listener
// does not hold the bind past its context (the probe waited up to
// dial-timeout twice more: streambind send --connect-timeout 1s took 11s).
func TestSilentBrokerNotProbedPastTheBind(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-accepted
		for _, c := range held {
			c.Close()
		}
	})
	b := newBinderAt(t, ln.Addr().String(), map[string]any{"dial-timeout": "10s"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: uniqueTopic(t)})
	took := time.Since(start)
	if err == nil || !errors.Is(err, stream.ErrUnavailable) {
		t.Errorf("bind against a silent broker: %v; want unavailable", err)
	}
	if took > 3*time.Second {
		t.Errorf("bind with a 1s context returned after %v", took)
	}
}
