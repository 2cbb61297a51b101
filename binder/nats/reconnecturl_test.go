package nats_test

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// TestReconnectedLineNamesServerAsConnected: the connected and the
// reconnected lines show a server URL with a user and password alike, the
// user kept and the password hidden, as package redact shows a URL. The
// connected line read nats://alice:******@host and the reconnected one
// nats://******@host (the whole user info taken for a secret).
func TestReconnectedLineNamesServerAsConnected(t *testing.T) {
	const pw = "Tr1al-Passw0rd-xyz"
	srv := natstest.Start(t, natstest.Options{Config: `authorization { user: trialu, password: "` + pw + `" }` + "\n"})
	lb := &logBuffer{}
	b, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "nats", Type: natsbinder.Type,
		Logger: slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Environment: map[string]any{"servers": "nats://trialu:" + pw + "@" + srv.Addr(),
			"reconnect-initial-interval": "20ms", "reconnect-max-interval": "50ms"}})
	if err != nil {
		t.Fatal(err)
	}
	closeBinder(t, b)
	bindProducer(t, b, stream.ProducerSpec{Destination: unique(t, "reconnect")})
	srv.Restart()
	waitFor(t, 20*time.Second, "the reconnected line", func() bool { return strings.Contains(lb.String(), `msg="nats: reconnected"`) })
	log := lb.String()
	want := "nats://trialu:******@" + srv.Addr()
	connected := regexp.MustCompile(`msg="nats: connected" server=(\S+)`).FindStringSubmatch(log)
	reconnected := regexp.MustCompile(`msg="nats: reconnected" servers=(\S+)`).FindStringSubmatch(log)
	if connected == nil || reconnected == nil {
		t.Fatalf("no connected or reconnected line with a server:\n%s", log)
	}
	if connected[1] != want || reconnected[1] != want {
		t.Errorf("connected line names %s, reconnected line %s; want both %s", connected[1], reconnected[1], want)
	}
	if strings.Contains(log, pw) {
		t.Errorf("the log shows the password:\n%s", log)
	}
}
