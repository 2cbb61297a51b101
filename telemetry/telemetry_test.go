package telemetry_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/telemetry"
)

func TestConfigFrom(t *testing.T) {
	c, err := telemetry.ConfigFrom(map[string]any{
		"logging":    map[string]any{"level": "debug", "format": "json"},
		"management": map[string]any{"tracing": map[string]any{"exporter": "otlp", "endpoint": "127.0.0.1:4318", "samplingprobability": 0.5, "service-name": "shop", "insecure": "true"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Level != slog.LevelDebug || c.Log.Format != "json" || c.Tracing.Exporter != "otlp" || c.Tracing.SamplingProbability != 0.5 ||
		c.Tracing.ServiceName != "shop" || !c.Tracing.Insecure || c.Tracing.Endpoint != "127.0.0.1:4318" {
		t.Fatalf("%+v", c)
	}
	d, err := telemetry.ConfigFrom(nil)
	if err != nil || d.Log.Level != slog.LevelInfo || d.Log.Format != "text" || d.Tracing.Exporter != "none" {
		t.Fatalf("defaults %+v %v", d, err)
	}
	_, err = telemetry.ConfigFrom(map[string]any{
		"logging":    map[string]any{"level": "loud", "format": "xml", "colour": true},
		"management": map[string]any{"tracing": map[string]any{"exporter": "zipkin", "sampling-probability": 2}},
	})
	for _, want := range []string{"logging.level", "logging.format", "logging.colour: unknown key", "management.tracing.exporter", "management.tracing.sampling-probability"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestLoggerRedactsSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := telemetry.NewLogger(&buf, telemetry.LogConfig{Level: slog.LevelInfo, Format: "json"})
	log.Info("connecting", "uri", "amqps://app:s3cret@broker:5671/vh", "password", "s3cret",
		"error", errors.New("dial amqp://app:s3cret@broker:5671: refused"),
		"target", &url.URL{Scheme: "amqp", User: url.UserPassword("app", "s3cret"), Host: "broker"})
	log.Debug("hidden")
	out := buf.String()
	if strings.Contains(out, "s3cret") || !strings.Contains(out, "amqps://app:******@broker:5671/vh") || strings.Contains(out, "hidden") {
		t.Fatalf("log: %s", out)
	}
}

// Spans reach an OTLP/HTTP collector (a loopback test server here).
func TestOTLPExport(t *testing.T) {
	got := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Path
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	ctx := context.Background()
	tp, shutdown, err := telemetry.NewTracerProvider(ctx, telemetry.TracingConfig{Exporter: "otlp",
		Endpoint: strings.TrimPrefix(srv.URL, "http://"), Insecure: true, SamplingProbability: 1, ServiceName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("t").Start(ctx, "op")
	span.End()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "/v1/traces" {
			t.Fatalf("exported to %s", p)
		}
	default:
		t.Fatal("nothing was exported")
	}
	none, _, err := telemetry.NewTracerProvider(ctx, telemetry.TracingConfig{Exporter: "none"})
	if none != nil || err != nil {
		t.Fatal("exporter none must turn tracing off")
	}
}

// Every kind of attribute value, in groups too, and the message: the
// planted secret never reaches the output, what is not secret does.
func TestLoggerRedactsEveryKind(t *testing.T) {
	const plant = "S3cretPlant"
	type dbConfig struct {
		URL      string `json:"url"`
		Password string `json:"password"`
		Pool     int    `json:"pool"`
	}
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log := telemetry.NewLogger(&buf, telemetry.LogConfig{Level: slog.LevelDebug, Format: format})
		log.Debug("connect amqp://u:"+plant+"@h/ failed",
			"auth-header", "Bearer "+plant,
			"authHeader", "Bearer "+plant,
			"dsn", "host=h password="+plant,
			"note", "host=h password="+plant+" dbname=app",
			"uri", "amqp://u:"+plant+",x@h/",
			"plain", "user:"+plant+"@rabbit:5672",
			"header", "Authorization: Bearer "+plant,
			"err", errors.New("open postgres://u:"+plant+"@h/db?sslmode=disable: refused"),
			"settings", map[string]any{"brokers": "h:9092", "sasl": map[string]any{"password": plant}},
			"env", map[string]string{"PGPASSWORD": plant, "PGHOST": "dbhost"},
			"cfg", dbConfig{URL: "postgres://u:" + plant + "@h/db", Password: plant, Pool: 4},
			"cfgptr", &dbConfig{Password: plant},
			"list", []string{"amqp://a:" + plant + "@h1", "amqp://b:" + plant + "@h2"},
			slog.Group("db", "pwd", plant, slog.Group("credentials", "user", plant)),
		)
		out := buf.String()
		if strings.Contains(out, plant) {
			t.Fatalf("%s: the secret is logged: %s", format, out)
		}
		for _, keep := range []string{"h:9092", "dbhost", "rabbit:5672", "sslmode=disable", "Bearer", "amqp://u:******@h/"} {
			if !strings.Contains(out, keep) {
				t.Errorf("%s: %q lost: %s", format, keep, out)
			}
		}
	}
}

// TestLoggerWritesDurationsAsGoPrintsThem: JSON's default for a
// time.Duration is integer nanoseconds ("read-timeout":10000000000); the
// logger writes "10s" in both formats.
func TestLoggerWritesDurationsAsGoPrintsThem(t *testing.T) {
	for format, want := range map[string][]string{
		"json": {`"read-timeout":"10s"`, `"retry_in":"1.5s"`, `"db":{"wait":"250ms"}`},
		"text": {`read-timeout=10s`, `retry_in=1.5s`, `db.wait=250ms`},
	} {
		var buf bytes.Buffer
		log := telemetry.NewLogger(&buf, telemetry.LogConfig{Level: slog.LevelInfo, Format: format})
		log.Info("listening", "read-timeout", 10*time.Second, slog.Duration("retry_in", 1500*time.Millisecond),
			slog.Group("db", "wait", 250*time.Millisecond))
		for _, w := range want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%s: want %s in %s", format, w, buf.String())
			}
		}
	}
}
