package telemetry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/streambind/streambind/telemetry"
)

// export is what a loopback collector received: the request's path and
// body.
type export struct {
	path string
	body []byte
}

func collector(t *testing.T, status int, reply string) (*httptest.Server, <-chan export) {
	t.Helper()
	got := make(chan export, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- export{r.URL.Path, b}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// exportOne starts and ends a span through the configured provider (fail
// marks it failed with err) and flushes it, returning the flush's error.
func exportOne(t *testing.T, c telemetry.TracingConfig, fail error) error {
	t.Helper()
	ctx := context.Background()
	tp, shutdown, err := telemetry.NewTracerProvider(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer("t").Start(ctx, "op")
	if fail != nil {
		span.RecordError(fail)
		span.SetStatus(codes.Error, fail.Error())
	}
	span.End()
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ferr := tp.(*sdktrace.TracerProvider).ForceFlush(fctx)
	_ = shutdown(fctx)
	return ferr
}

// The endpoint as OTEL_EXPORTER_OTLP_ENDPOINT and Spring Boot write it, a
// URL: its scheme says plain HTTP, a URL without a path gets /v1/traces,
// one with a path is sent there. It failed every export ("parse
// http://http:%2F%2F...: invalid port") and no span left the process.
func TestOTLPEndpointURL(t *testing.T) {
	srv, got := collector(t, http.StatusOK, "")
	for _, tc := range []struct{ endpoint, path string }{
		{srv.URL, "/v1/traces"},
		{srv.URL + "/", "/v1/traces"},
		{srv.URL + "/otlp/v1/traces", "/otlp/v1/traces"},
		{strings.TrimPrefix(srv.URL, "http://"), "/v1/traces"}, // host:port, with insecure
	} {
		c := telemetry.TracingConfig{Exporter: "otlp", Endpoint: tc.endpoint, SamplingProbability: 1, ServiceName: "t",
			Insecure: !strings.Contains(tc.endpoint, "://")}
		if err := exportOne(t, c, nil); err != nil {
			t.Fatalf("%s: %v", tc.endpoint, err)
		}
		select {
		case e := <-got:
			if e.path != tc.path {
				t.Errorf("%s: exported to %s, want %s", tc.endpoint, e.path, tc.path)
			}
		default:
			t.Errorf("%s: nothing was exported", tc.endpoint)
		}
	}
}

// An endpoint the exporter cannot use is a configuration error, and the
// error does not quote a password.
func TestOTLPEndpointRefused(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		insecure string
		want     string
	}{
		{"http://otel:S3cretPw@127.0.0.1:4318", "false", "credentials"},
		{"grpc://127.0.0.1:4317", "false", "http or https"},
		{"https://collector:4318", "true", "insecure"},
		{"http://collector:4318/v1/traces?token=S3cretPw", "false", "query"},
		{"http://", "false", "no host"},
	} {
		_, err := telemetry.ConfigFrom(map[string]any{"management": map[string]any{"tracing": map[string]any{
			"exporter": "otlp", "endpoint": tc.endpoint, "insecure": tc.insecure}}})
		if err == nil || !strings.Contains(err.Error(), "management.tracing.endpoint") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one about %q", tc.endpoint, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "S3cretPw") {
			t.Errorf("%s: the error quotes the secret: %v", tc.endpoint, err)
		}
		_, _, err = telemetry.NewTracerProvider(context.Background(), telemetry.TracingConfig{Exporter: "otlp",
			Endpoint: tc.endpoint, Insecure: tc.insecure == "true"})
		if err == nil || strings.Contains(err.Error(), "S3cretPw") {
			t.Errorf("%s: NewTracerProvider: %v", tc.endpoint, err)
		}
	}
}

// An error recorded on a span (a handler's error quoting a URL with its
// password) leaves the process redacted, as in a log line: in the
// status description and the exception event. It was exported as it was.
func TestOTLPExportRedactsSpans(t *testing.T) {
	const plant = "S3cretPlant"
	srv, got := collector(t, http.StatusOK, "")
	err := exportOne(t, telemetry.TracingConfig{Exporter: "otlp", Endpoint: srv.URL, SamplingProbability: 1, ServiceName: "t"},
		errors.New("dial amqp://app:"+plant+"@broker:5672/vh: refused"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if bytes.Contains(e.body, []byte(plant)) {
			t.Fatalf("the secret was exported: %q", e.body)
		}
		if !bytes.Contains(e.body, []byte("amqp://app:******@broker:5672/vh")) {
			t.Fatalf("the redacted error is missing: %q", e.body)
		}
	default:
		t.Fatal("nothing was exported")
	}
}

// A failed export's error (OpenTelemetry's global handler prints it) does
// not quote a secret the collector's answer holds.
func TestOTLPExportErrorRedacted(t *testing.T) {
	const plant = "S3cretPlant"
	srv, _ := collector(t, http.StatusBadRequest, "rejected: password="+plant)
	err := exportOne(t, telemetry.TracingConfig{Exporter: "otlp", Endpoint: srv.URL, SamplingProbability: 1, ServiceName: "t"}, nil)
	if err == nil {
		t.Fatal("the export did not fail")
	}
	if strings.Contains(err.Error(), plant) || !strings.Contains(err.Error(), "password=******") {
		t.Fatalf("export error: %v", err)
	}
}
