package kafka_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestProducerHeaderPatterns: SCSt's Kafka producer header-patterns
// decides which of a message's headers are written onto its record: a
// comma-separated list of simple patterns ('*' wildcard, '!' negation),
// the first that matches deciding, case aside, and a header no pattern
// matches not written. "!secret*,*" writes all but the secret ones;
// "!ask,as*" writes ash but not ask (SCSt's own example); a list without
// "*" writes only what it names — contentType too, which the binder adds
// otherwise. As in SCSt, the patterns never map id and timestamp: the
// binder still writes the record's id (its de-duplication key) and never
// a timestamp header. Without header-patterns (or with "*") every header
// is written, as before. Before, any pattern but "*" stopped start-up
// ("only * is supported").
func TestProducerHeaderPatterns(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	bindings := map[string]string{ // binding → header-patterns ("" none)
		"secretless": "!secret*,*",
		"spring":     "!ask,as*",
		"only":       "X-Tenant, contentType",
		"all":        "",
	}
	cfg := &stream.Config{
		OutputBindings: "secretless;spring;only;all",
		Binders:        map[string]stream.BinderConfig{"k": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
		DefaultBinder:  "k",
		Bindings:       map[string]stream.BindingConfig{},
		Extensions:     map[string]stream.ExtensionConfig{kafka.Type: {Bindings: map[string]stream.ExtensionBindingConfig{}}},
	}
	for b, hp := range bindings {
		cfg.Bindings[b] = stream.BindingConfig{Destination: "hp-" + b, ContentType: "application/json"}
		if hp != "" {
			cfg.Extensions[kafka.Type].Bindings[b] = stream.ExtensionBindingConfig{Producer: map[string]any{"header-patterns": hp}}
		}
	}
	app := runApp(t, cfg, stream.NewCatalog(), slog.New(slog.DiscardHandler))
	for b := range bindings {
		msg := stream.NewMessage(map[string]string{"a": "b"},
			"secretToken", "s3cr3t", "SECRET-2", "s", "x-tenant", "t1", "ask", "1", "ash", "2",
			"timestamp", "1700000000000", "id", "order-17")
		if err := app.Bridge().Send(context.Background(), b, msg); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	want := map[string][]string{ // binding → the record's header names
		"secretless": {"ash", "ask", "contentType", "id", "x-tenant"},
		"spring":     {"ash", "id"},
		"only":       {"contentType", "id", "x-tenant"},
		"all":        {"SECRET-2", "ash", "ask", "contentType", "id", "secretToken", "timestamp", "x-tenant"},
	}
	for b, names := range want {
		rec := readRaw(t, c, "hp-"+b, 1)[0]
		var got []string
		for _, h := range rec.Headers {
			if h.Key == "spring_json_header_types" {
				continue
			}
			got = append(got, h.Key)
			if h.Key == "id" && string(h.Value) != "order-17" {
				t.Errorf("%s: id %q, want the message's, order-17", b, h.Value)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, names) {
			t.Errorf("%s (header-patterns %q): record headers %v, want %v", b, bindings[b], got, names)
		}
	}
}

// TestProducerHeaderPatternsRefused: header-patterns that say nothing are
// refused at their key, saying what is wanted.
func TestProducerHeaderPatternsRefused(t *testing.T) {
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type})
	if err != nil {
		t.Fatal(err)
	}
	v := b.(stream.SpecValidator)
	// An empty value is SCSt's default (every header): Spring Boot binds
	// "" to an empty array, which SCSt's binder reads as no patterns.
	for _, hp := range []any{"!secret*,*", "*", []any{"!a", "b*"}, "!ask,as*", "", " , ", []any{}} {
		if err := v.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Extension: map[string]any{"headerPatterns": hp}}); err != nil {
			t.Errorf("header-patterns %v: %v", hp, err)
		}
	}
	for _, hp := range []any{"a,!,b", "!", 7} {
		err := v.ValidateProducer(stream.ProducerSpec{Binding: "out-0", Extension: map[string]any{"header-patterns": hp}})
		if err == nil || !strings.Contains(err.Error(), "stream.kafka.bindings.out-0.producer.header-patterns") || !strings.Contains(err.Error(), "want") {
			t.Errorf("header-patterns %q: %v", hp, err)
		}
	}
}
