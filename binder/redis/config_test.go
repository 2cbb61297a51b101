package redis_test

import (
	"context"
	"strings"
	"testing"

	redisbinder "github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/stream"
)

// TestSettingsValidated: unknown keys and bad values are reported, every
// one with its key path, and secrets never.
func TestSettingsValidated(t *testing.T) {
	const pw = "Zq-secret-4411"
	for _, tc := range []struct {
		name string
		env  map[string]any
		want []string
	}{
		{"unknown key", map[string]any{"adress": "h:1"}, []string{"stream.binders.r.environment.adress: unknown key"}},
		{"bad durations", map[string]any{"health-interval": "10ms", "dial-timeout": "soon"}, []string{"health-interval: must be at least 100ms", "dial-timeout: want a duration"}},
		{"max-length 0", map[string]any{"max-length": 0}, []string{"max-length: must be -1 (no cap) or at least 1"}},
		{"unbounded", map[string]any{"max-length": -1, "trim-acked": false}, []string{"streams would grow without bound"}},
		{"rediss url and tls.enabled false", map[string]any{"url": "rediss://u:" + pw + "@h:1", "tls": map[string]any{"enabled": false}},
			[]string{"stream.binders.r.environment.tls.enabled: false, but url (stream.binders.r.environment.url) is rediss://"}},
		{"rediss url and tls false", map[string]any{"url": "rediss://u:" + pw + "@h:1", "tls": false}, []string{"environment.tls: false, but url"}},
		{"bad url", map[string]any{"url": "http://u:" + pw + "@h:1"}, []string{"url: want redis://"}},
		{"url in address", map[string]any{"address": "redis://u:" + pw + "@h:1"}, []string{"address: want host:port (not shown"}},
		{"username without password", map[string]any{"username": "u"}, []string{"environment.username: given without a password: set stream.binders.r.environment.password too"}},
		{"tls", map[string]any{"tls": map[string]any{"ca-file": "/nonexistent.pem", "cert-file": "x"}}, []string{"tls.ca-file", "cert-file and key-file go together"}},
		{"client name", map[string]any{"client-name": "a b"}, []string{"client-name: must not hold white space"}},
		// A bare number is seconds (as Kafka's health-timeout): 11s is above
		// 5 × the default health-interval (2s); 11ms would be below 100ms.
		{"health-timeout bare number", map[string]any{"health-timeout": 11}, []string{"health-timeout: must not be above 5 × health-interval (2s)"}},
		{"health-timeout bare number text", map[string]any{"health-timeout": "11"}, []string{"health-timeout: must not be above 5 × health-interval (2s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redisbinder.New(context.Background(), stream.BinderSettings{Name: "r", Type: redisbinder.Type, Environment: tc.env})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// TestBindingPropertiesValidated: binding properties are checked before
// anything is bound.
func TestBindingPropertiesValidated(t *testing.T) {
	b, err := redisbinder.New(context.Background(), stream.BinderSettings{Name: "r", Type: redisbinder.Type})
	if err != nil {
		t.Fatal(err)
	}
	v := b.(stream.SpecValidator)
	err = v.ValidateConsumer(stream.ConsumerSpec{Binding: "f-in-0", Extension: map[string]any{
		"claim-min-idle": "1ms", "max-deliveries": 0, "start-offset": "middle", "prefetch": 0, "bogus": 1,
	}})
	for _, w := range []string{
		"stream.redis.bindings.f-in-0.consumer.claim-min-idle: must be at least 100ms",
		"max-deliveries: must be -1 (unlimited) or at least 1",
		"start-offset: want earliest or latest",
		"prefetch: must be at least 1",
		"bogus: unknown key",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not contain %q", err, w)
		}
	}
	err = v.ValidateProducer(stream.ProducerSpec{Binding: "f-out-0", Extension: map[string]any{"wait-replicas": -1, "send-attempts": "x"}})
	for _, w := range []string{"wait-replicas: must be at least 0", "send-attempts: want a whole number"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not contain %q", err, w)
		}
	}
	if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "f-in-0", Extension: map[string]any{"claimMinIdle": 500, "max-deliveries": -1}}); err != nil {
		t.Errorf("camelCase key and a number of milliseconds: %v", err)
	}
	// max-deliver, the nats binder's (JetStream's) name, is the same setting.
	if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "f-in-0", Extension: map[string]any{"max-deliver": 3}}); err != nil {
		t.Errorf("max-deliver: %v", err)
	}
	if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "f-in-0", Extension: map[string]any{"max-deliver": 0}}); err == nil || !strings.Contains(err.Error(), "max-deliver: must be -1") {
		t.Errorf("max-deliver 0: %v", err)
	}
	err = v.ValidateConsumer(stream.ConsumerSpec{Binding: "f-in-0", Extension: map[string]any{"max-deliver": 3, "max-deliveries": 3}})
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("max-deliver and max-deliveries together: %v", err)
	}
}

// TestHealthTimeoutBareSeconds: a bare number of health-timeout is
// seconds, as on the Kafka binder (3 would be refused as 3ms, below
// 100ms).
func TestHealthTimeoutBareSeconds(t *testing.T) {
	for _, v := range []any{3, "3", "3s", "3000ms"} {
		if _, err := redisbinder.New(context.Background(), stream.BinderSettings{Name: "r", Type: redisbinder.Type,
			Environment: map[string]any{"health-timeout": v}}); err != nil {
			t.Errorf("health-timeout %v: %v", v, err)
		}
	}
}

// TestMaxMessageSizeAloneLowersDeadLetterDefault (found by the type
// trial): max-message-size set below 16 MiB alone failed start-up with an
// error about dead-letter-max-size, a key the user never set; its default
// follows max-message-size now. Set above it, it is still refused.
func TestMaxMessageSizeAloneLowersDeadLetterDefault(t *testing.T) {
	e := newEnv(t)
	e.binder(t, map[string]any{"max-message-size": 1048576})
	_, err := redisbinder.New(context.Background(), stream.BinderSettings{Name: "r", Type: redisbinder.Type,
		Environment: map[string]any{"max-message-size": 1048576, "dead-letter-max-size": 2097152}})
	if err == nil || !strings.Contains(err.Error(), "dead-letter-max-size: must not be above max-message-size") {
		t.Fatalf("err %v, want dead-letter-max-size above max-message-size refused", err)
	}
}
