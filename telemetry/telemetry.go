// Package telemetry sets up logging and tracing from the configuration:
//
//	logging:
//	  level: info        # debug | info | warn | error; default info
//	  format: text       # text | json; default text
//	management:
//	  tracing:
//	    exporter: none   # none (default) | otlp
//	    endpoint: 127.0.0.1:4318   # OTLP/HTTP collector; default: the exporter's (OTEL_EXPORTER_OTLP_ENDPOINT)
//	    insecure: true   # plain HTTP to the collector; default false
//	    sampling-probability: 1.0  # default 1.0 (every trace)
//	    service-name: shop         # default "streambind"
//
// Loggers made here redact secrets before anything is written: the values
// of attributes whose key (with its groups) names a secret, and secrets
// inside every string, error, Stringer, map, slice or struct value (URL
// passwords, secret name=value pairs, Bearer tokens...), as package redact
// defines them; and the secrets inside the message.
package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/streambind/streambind/redact"
)

// LogConfig is the logging section.
type LogConfig struct {
	Level  slog.Level // default info
	Format string     // "text" (default) or "json"
}

// TracingConfig is management.tracing.
type TracingConfig struct {
	Exporter            string // "none" (default) or "otlp"
	Endpoint            string
	Insecure            bool
	SamplingProbability float64 // default 1
	ServiceName         string  // default "streambind"
}

// Config is what package telemetry reads from a configuration tree.
type Config struct {
	Log     LogConfig
	Tracing TracingConfig
}

// ConfigFrom decodes logging.* and management.tracing.* from a loaded
// configuration tree (config.Loaded.Raw). Unknown keys under logging are
// errors; other management keys belong to package management.
func ConfigFrom(raw map[string]any) (Config, error) {
	c := Config{Log: LogConfig{Level: slog.LevelInfo, Format: "text"},
		Tracing: TracingConfig{Exporter: "none", SamplingProbability: 1, ServiceName: "streambind"}}
	var errs []string
	bad := func(path string, format string, args ...any) {
		errs = append(errs, path+": "+fmt.Sprintf(format, args...))
	}
	if m, ok := raw["logging"].(map[string]any); ok {
		for k, v := range m {
			s := fmt.Sprint(v)
			switch key(k) {
			case "level":
				if err := c.Log.Level.UnmarshalText([]byte(s)); err != nil {
					bad("logging.level", "want debug, info, warn or error, got %q", s)
				}
			case "format":
				if s != "text" && s != "json" {
					bad("logging.format", "want text or json, got %q", s)
				}
				c.Log.Format = s
			default:
				bad("logging."+k, "unknown key")
			}
		}
	}
	if mg, ok := raw["management"].(map[string]any); ok {
		if m, ok := mg["tracing"].(map[string]any); ok {
			for k, v := range m {
				s := fmt.Sprint(v)
				path := "management.tracing." + k
				switch key(k) {
				case "exporter":
					if s != "none" && s != "otlp" {
						bad(path, "want none or otlp, got %q", s)
					}
					c.Tracing.Exporter = s
				case "endpoint":
					c.Tracing.Endpoint = s
				case "insecure":
					b, err := strconv.ParseBool(s)
					if err != nil {
						bad(path, "want true or false, got %q", s)
					}
					c.Tracing.Insecure = b
				case "samplingprobability":
					p, err := strconv.ParseFloat(s, 64)
					if err != nil || p < 0 || p > 1 {
						bad(path, "want a number in [0, 1], got %q", s)
					}
					c.Tracing.SamplingProbability = p
				case "servicename":
					c.Tracing.ServiceName = s
				default:
					bad(path, "unknown key")
				}
			}
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return c, fmt.Errorf("telemetry configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

func key(k string) string { return strings.ReplaceAll(strings.ToLower(k), "-", "") }

// NewLogger returns a logger writing to w in the configured format and
// level, redacting secrets.
func NewLogger(w io.Writer, c LogConfig) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level, ReplaceAttr: redactAttr}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redactAttr hides the secrets in the message, the values of secret-named
// attributes (the key with its groups: "password", "db.credentials.user",
// "authHeader") and the secrets inside every other value: strings, errors and Stringers through
// [redact.String]; maps, slices and structs through [redact.Tree] on their
// JSON form.
func redactAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 {
		switch a.Key {
		case slog.TimeKey, slog.LevelKey, slog.SourceKey:
			return a
		case slog.MessageKey:
			return slog.String(a.Key, redact.String(a.Value.String()))
		}
	}
	key := a.Key
	if len(groups) > 0 {
		key = strings.Join(groups, ".") + "." + a.Key
	}
	if a.Value.Kind() != slog.KindGroup && redact.IsSecretKey(key) {
		return slog.String(a.Key, redact.Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		s := a.Value.String()
		if r := redact.String(s); r != s {
			return slog.String(a.Key, r)
		}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case nil, []byte:
			return a
		case error:
			return slog.String(a.Key, redact.String(v.Error()))
		case fmt.Stringer: // *url.URL and friends
			return slog.String(a.Key, redact.String(v.String()))
		case map[string]any, map[string]string, []any, []string:
			return slog.Any(a.Key, redact.Tree(v))
		default:
			return slog.Any(a.Key, redactComposite(v))
		}
	}
	return a
}

// redactComposite redacts a struct, map or slice by its JSON form (the
// keys a reader of the log sees); other values are returned as they are.
func redactComposite(v any) any {
	switch reflect.Indirect(reflect.ValueOf(v)).Kind() {
	case reflect.Struct, reflect.Map, reflect.Slice, reflect.Array:
	default:
		return v
	}
	data, err := json.Marshal(v)
	if err != nil {
		// Cannot be inspected: its text, redacted as free text.
		return redact.String(fmt.Sprintf("%+v", v))
	}
	var tree any
	if err := json.Unmarshal(data, &tree); err != nil {
		return redact.String(string(data))
	}
	return redact.Tree(tree)
}

// NewTracerProvider builds the configured tracer provider: nil (tracing
// off) for exporter none. shutdown flushes and stops it.
func NewTracerProvider(ctx context.Context, c TracingConfig) (tp trace.TracerProvider, shutdown func(context.Context) error, err error) {
	if c.Exporter == "" || c.Exporter == "none" {
		return nil, func(context.Context) error { return nil }, nil
	}
	var opts []otlptracehttp.Option
	if c.Endpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpoint(c.Endpoint))
	}
	if c.Insecure {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry: otlp exporter: %w", err)
	}
	res := resource.NewSchemaless(semconv.ServiceName(c.ServiceName))
	sdk := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.SamplingProbability))),
	)
	return sdk, sdk.Shutdown, nil
}
