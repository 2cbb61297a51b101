package idempotency_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/streambind/streambind/idempotency"
)

// Config.String hid the DSN and the Redis URL, but a Config given to slog
// with the JSON handler (telemetry's json format) was written field by
// field, passwords included, and %#v printed them too.
func TestConfigNeverShowsItsSecrets(t *testing.T) {
	var c idempotency.Config
	c.Postgres.DSN = "postgres://app:pg-secret-1@db/test"
	c.Redis.URL = "redis://:redis-secret-2@cache:6379/0"
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("store", "config", c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("store", "config", c)
	fmt.Fprintf(&buf, "%v %+v %#v %s", c, c, c, c)
	out := buf.String()
	for _, secret := range []string{"pg-secret-1", "redis-secret-2"} {
		if strings.Contains(out, secret) {
			t.Errorf("%s shown:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "dsn=set") {
		t.Errorf("the description is missing:\n%s", out)
	}
}
