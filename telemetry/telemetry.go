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
//
// The tracing endpoint is host:port (HTTPS unless insecure: true) or a URL,
// as OTEL_EXPORTER_OTLP_ENDPOINT and Spring Boot's
// management.otlp.tracing.endpoint write it: http://collector:4318 (plain
// HTTP; the exporter's path /v1/traces is added to a URL without a path) or
// https://collector:4318/v1/traces (sent to that path). With a URL its
// scheme says whether the connection is encrypted, and insecure: true with
// an https URL is an error, as are other schemes and credentials in the URL
// (the exporter would not send them). The spans the exporter made here
// sends are redacted as log lines are: a span's status description and the
// string attributes of the span and its events (the exception.message of
// a recorded error) lose their secrets, and so do the errors of failed
// exports, which OpenTelemetry's global error handler prints.
package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/streambind/streambind/internal/didyoumean"
	"github.com/streambind/streambind/internal/sectionerr"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
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
// errors (with a did-you-mean for a likely typo); other management keys
// belong to package management. Its error names keys as raw has them
// (lower-case) and not where they are set: an app that loaded its
// configuration with package config calls [FromConfig], which does.
func ConfigFrom(raw map[string]any) (Config, error) {
	c, errs := decode(raw)
	return c, sectionerr.Joined("telemetry", errs)
}

// FromConfig is [ConfigFrom] reporting each problem as the configuration
// loader reports the stream section's (and management.FromConfig the
// management section's): a [stream.ConfigErrors] whose items name the key
// as the files write it and where they set it (file:line, or "env NAME"),
// through problem, the loaded configuration's (config.Loaded.Problem):
//
//	tel, err := telemetry.FromConfig(loaded.Raw, loaded.Problem)
//
// Every problem of the sections is reported at once, sorted by key path.
// A nil problem names each key as raw has it, without where it is set.
func FromConfig(raw map[string]any, problem func(path, msg string) *stream.ConfigError) (Config, error) {
	c, errs := decode(raw)
	return c, sectionerr.Errors(errs, problem)
}

// logKeys and tracingKeys are the keys of logging and management.tracing,
// sorted (package management lists the latter in the same words).
var (
	logKeys     = []string{"format", "level"}
	tracingKeys = []string{"endpoint", "exporter", "insecure", "sampling-probability", "service-name"}
)

// unknownKey is the message of an unknown key k among known: with the
// closest known key when it is a likely typo, else the known keys.
func unknownKey(k string, known []string) string {
	if sug := didyoumean.Suggest(k, known); sug != "" {
		return "unknown key; did you mean " + sug + "?"
	}
	return "unknown key (known keys: " + strings.Join(known, ", ") + ")"
}

// bootLevel maps Spring Boot's levels that log/slog lacks as package
// config does (its bootLevel, which also warns about off): trace to debug,
// fatal and off (YAML 1.1's false) to error, in any case and around
// white space as config takes Boot's levels, so that a raw
// tree not loaded by package config takes the levels config.Load takes.
// Any other value s is returned as is, for slog.Level.UnmarshalText.
func bootLevel(v any, s string) string {
	if b, ok := v.(bool); ok && !b {
		return "error"
	}
	switch l := strings.ToLower(strings.TrimSpace(s)); l {
	case "debug", "info", "warn", "error":
		return l
	case "trace":
		return "debug"
	case "fatal", "off":
		return "error"
	}
	return s
}

// decode decodes logging.* and management.tracing.* over the defaults,
// returning every problem, sorted by key path.
func decode(raw map[string]any) (Config, []sectionerr.Problem) {
	c := Config{Log: LogConfig{Level: slog.LevelInfo, Format: "text"},
		Tracing: TracingConfig{Exporter: "none", SamplingProbability: 1, ServiceName: "streambind"}}
	var errs []sectionerr.Problem
	bad := func(path string, format string, args ...any) {
		errs = append(errs, sectionerr.Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	// A setting written in two spellings (sampling-probability and
	// samplingProbability) with two values is an error naming both, not
	// whichever the map's random order visits last.
	seen := map[string][2]string{}
	twice := func(path, section, k, s string) bool {
		n := section + "." + key(k)
		if prev, ok := seen[n]; ok && prev[1] != s {
			a, b := [2]string{path, s}, prev
			if b[0] < a[0] {
				a, b = b, a
			}
			bad(a[0], "%s conflicts with %s: %s (the same setting)", redact.Value(a[1]), b[0], redact.Value(b[1]))
			return true
		}
		seen[n] = [2]string{path, s}
		return false
	}
	if m, ok := raw["logging"].(map[string]any); ok {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			v := m[k]
			s := fmt.Sprint(v)
			if twice("logging."+k, "logging", k, s) {
				continue
			}
			switch key(k) {
			case "level":
				if err := c.Log.Level.UnmarshalText([]byte(bootLevel(v, s))); err != nil {
					bad("logging.level", "want trace, debug, info, warn, error, fatal or off (any case), got %q", s)
				}
			case "format":
				// In any case, as the level is (LOGGING_FORMAT=JSON).
				f := strings.ToLower(s)
				if f != "text" && f != "json" {
					bad("logging.format", "want text or json, got %q", s)
				}
				c.Log.Format = f
			default:
				bad("logging."+k, "%s", unknownKey(k, logKeys))
			}
		}
	}
	if mg, ok := raw["management"].(map[string]any); ok {
		if m, ok := mg["tracing"].(map[string]any); ok {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				v := m[k]
				s := fmt.Sprint(v)
				path := "management.tracing." + k
				if twice(path, "management.tracing", k, s) {
					continue
				}
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
					bad(path, "%s", unknownKey(k, tracingKeys))
				}
			}
		}
	}
	if c.Tracing.Endpoint != "" {
		if _, err := endpointOptions(c.Tracing); err != nil {
			bad("management.tracing.endpoint", "%v", err)
		}
	}
	sectionerr.Sort(errs)
	return c, errs
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

// redactAttr writes durations as Go prints them ("250ms") and hides the
// secrets in the message, the values of secret-named
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
	case slog.KindDuration:
		// As the text format prints it ("1.5s", "10s"), not JSON's
		// integer nanoseconds: one spelling in both formats, and the
		// spelling of the configuration's durations.
		return slog.String(a.Key, a.Value.Duration().String())
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
	opts, err := endpointOptions(c)
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry: management.tracing.endpoint: %w", err)
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry: otlp exporter: %s", redact.String(err.Error()))
	}
	res := resource.NewSchemaless(semconv.ServiceName(c.ServiceName))
	sdk := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(redactingExporter{exp}),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.SamplingProbability))),
	)
	return sdk, sdk.Shutdown, nil
}

// endpointOptions turns the endpoint into the exporter's options: host:port
// (HTTPS unless c.Insecure), or an http or https URL, whose scheme decides
// and whose path, when it has one, replaces the exporter's /v1/traces.
// Errors quote the endpoint redacted.
func endpointOptions(c TracingConfig) ([]otlptracehttp.Option, error) {
	ep := c.Endpoint
	if ep == "" || !strings.Contains(ep, "://") {
		var opts []otlptracehttp.Option
		if ep != "" {
			opts = append(opts, otlptracehttp.WithEndpoint(ep))
		}
		if c.Insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		return opts, nil
	}
	shown := redact.String(ep)
	u, err := url.Parse(ep)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", shown)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q: want host:port or an http or https URL", shown)
	case u.Host == "":
		return nil, fmt.Errorf("%q has no host", shown)
	case u.User != nil:
		return nil, fmt.Errorf("%q: credentials in the URL are not sent to the collector; remove them", shown)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%q: a query or fragment is not sent to the collector; remove it", shown)
	case u.Scheme == "https" && c.Insecure:
		return nil, fmt.Errorf("%q is https but insecure is true: use an http URL for plain HTTP", shown)
	}
	if u.Path == "" || u.Path == "/" {
		// OTEL_EXPORTER_OTLP_ENDPOINT's rule: a base URL, the signal's
		// path added.
		u.Path = "/v1/traces"
	}
	return []otlptracehttp.Option{otlptracehttp.WithEndpointURL(u.String())}, nil
}

// redactingExporter redacts what the exporter sends and the errors it
// returns (printed by OpenTelemetry's global error handler) as the logger
// redacts log lines: an error recorded on a span (the status description,
// the exception event's message) may quote a URL with its password.
type redactingExporter struct{ sdktrace.SpanExporter }

func (e redactingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		out[i] = redactedSpan{s}
	}
	if err := e.SpanExporter.ExportSpans(ctx, out); err != nil {
		return errors.New(redact.String(err.Error()))
	}
	return nil
}

// redactedSpan is a span with the secrets of its status description and
// string attributes (its own and its events') hidden.
type redactedSpan struct{ sdktrace.ReadOnlySpan }

func (s redactedSpan) Status() sdktrace.Status {
	st := s.ReadOnlySpan.Status()
	st.Description = redact.String(st.Description)
	return st
}

func (s redactedSpan) Attributes() []attribute.KeyValue {
	return redactAttributes(s.ReadOnlySpan.Attributes())
}

func (s redactedSpan) Events() []sdktrace.Event {
	evs := s.ReadOnlySpan.Events()
	out := make([]sdktrace.Event, len(evs))
	for i, ev := range evs {
		ev.Attributes = redactAttributes(ev.Attributes)
		out[i] = ev
	}
	return out
}

// redactAttributes returns attrs with the secrets inside string values
// hidden. Keys are not read: OpenTelemetry's names are not configuration
// keys (messaging.kafka.message.key is no secret).
func redactAttributes(attrs []attribute.KeyValue) []attribute.KeyValue {
	var out []attribute.KeyValue
	for i, kv := range attrs {
		v, changed := kv.Value, false
		switch {
		case v.Type() == attribute.STRING:
			if r := redact.String(v.AsString()); r != v.AsString() {
				v, changed = attribute.StringValue(r), true
			}
		case v.Type() == attribute.STRINGSLICE:
			ss := v.AsStringSlice() // a copy
			for j, x := range ss {
				if r := redact.String(x); r != x {
					ss[j], changed = r, true
				}
			}
			if changed {
				v = attribute.StringSliceValue(ss)
			}
		}
		if !changed {
			continue
		}
		if out == nil {
			out = append(make([]attribute.KeyValue, 0, len(attrs)), attrs...)
		}
		out[i] = attribute.KeyValue{Key: kv.Key, Value: v}
	}
	if out == nil {
		return attrs
	}
	return out
}
