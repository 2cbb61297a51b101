package kafka_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/stream"
)

// TestShortPasswordNotMangled: a refused SASL login with a one-letter
// password is reported in words ("check the SASL mechanism and
// credentials"): the binder replaced every "a" of its errors and log lines
// with the password ("k[redacted]fk[redacted]: ..."). A long password
// appears nowhere (see TestSASL).
func TestShortPasswordNotMangled(t *testing.T) {
	t.Parallel()
	const user, pass = "shop", "s3cr3t-Pa55word"
	c := kafkatest.Start(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", user, pass))
	var logs syncbuf.Buffer
	b, err := kafka.New(context.Background(), stream.BinderSettings{
		Name: "secure", Type: kafka.Type,
		Environment: map[string]any{"brokers": c.Brokers(), "dial-timeout": "2s",
			"sasl": map[string]any{"mechanism": "PLAIN", "username": user, "password": "a"}},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: uniqueTopic(t)})
	if err == nil {
		t.Fatal("bind with a wrong password succeeded")
	}
	t.Logf("error (as expected): %v", err)
	for what, s := range map[string]string{"error": err.Error(), "log": logs.String()} {
		if strings.Contains(s, "[redacted]") || strings.Contains(s, "******") || strings.Contains(s, pass) {
			t.Errorf("%s mangled by redaction or shows a password: %s", what, s)
		}
	}
	if !strings.Contains(err.Error(), "kafka: bind producer") || !strings.Contains(err.Error(), "check the SASL mechanism and credentials") {
		t.Errorf("error %q lost its words", err)
	}
}
