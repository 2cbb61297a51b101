package kafka_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
)

// TestRefusedJoinsBackOff: while the broker refuses the consumer's login
// (a password rotated on the broker), a group consumer's joins back off
// from 250 ms doubling to 5 s instead of logging in every 250 ms (67
// attempts in 17.3 s per consumer in the security trial; a real broker
// logs each failed login). Once the broker accepts the login again the
// consumer joins and consumes.
func TestRefusedJoinsBackOff(t *testing.T) {
	t.Parallel()
	const user, pass = "shop", "s3cr3t-Pa55"
	c := kafkatest.Start(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", user, pass))
	var refuse atomic.Bool
	var logins atomic.Int64
	firstLogin := make(chan time.Time, 1)
	c.Kfake.ControlKey(int16(kmsg.SASLAuthenticate), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		c.Kfake.KeepControl()
		if !refuse.Load() {
			return nil, nil, false
		}
		if logins.Add(1) == 1 {
			firstLogin <- time.Now()
		}
		resp := kr.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := "Authentication failed: Invalid username or password"
		resp.ErrorMessage = &msg
		return resp, nil, true
	})
	b := newBinder(t, c, map[string]any{"sasl": map[string]any{"mechanism": "PLAIN", "username": user, "password": pass},
		"health-interval": "1h", "lag-interval": "1h"})
	closeBinder(t, b)
	dest := uniqueTopic(t)
	tr := newTracker()
	cons, err := b.BindConsumer(context.Background(), consumerSpec(dest, "g", tr.handler()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = cons.Stop(ctx)
	})

	refuse.Store(true)
	if err := cons.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Without back-off: a login every 250 ms, 20 in 5 s. With it: at
	// about 0, 0.25, 0.5, 1, 2 and 4 s (±20 %).
	var first time.Time
	select {
	case first = <-firstLogin:
	case <-time.After(10 * time.Second):
		t.Fatal("no login refused within 10s: the consumer did not try to join")
	}
	<-time.After(time.Until(first.Add(5 * time.Second))) // the window counted
	n := logins.Load()
	t.Logf("%d refused logins in 5s", n)
	if n > 9 {
		t.Errorf("%d refused logins in 5s: no back-off (one every 250ms would be 20)", n)
	}

	// The broker accepts the login again: the consumer joins (within the
	// back-off reached, at most 6 s) and consumes.
	refuse.Store(false)
	p := bindProducer(t, b, dest, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	produce(ctx, t, p, tr, "m", 5, 1, 0)
	tr.waitAll(t, 15*time.Second)
}
