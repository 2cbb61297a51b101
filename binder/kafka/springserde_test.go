package kafka_test

import (
	"context"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// scstAppWarnings is scstApp for a file named name, also returning the
// loader's warnings as "path (origin): message" lines.
func scstAppWarnings(t *testing.T, name, data string) (warnings []string, err error) {
	t.Helper()
	l, err := config.Load(config.Options{Data: []byte(data), Name: name, Env: []string{}})
	if err != nil {
		return nil, err
	}
	for _, w := range l.Warnings {
		warnings = append(warnings, w.Error())
	}
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "enrich", func(_ context.Context, in map[string]any) (map[string]any, error) { return in, nil })
	_, err = stream.NewApp(l.Stream, fns, stream.WithBinderType(kafka.Type, kafka.New))
	return warnings, err
}

// TestSpringSerdeBoilerplateStarts: the Spring Kafka (de)serializer
// boilerplate SCSt files carry — spring.json.* and spring.deserializer.*
// settings, and key/value (de)serializer classes of Spring Kafka's
// (ErrorHandlingDeserializer, JsonDeserializer, JsonSerializer) — starts,
// in every Kafka property map (the binder's configuration,
// consumer-properties and producer-properties, a binding's consumer and
// producer configuration, and spring.kafka's), each with a warning at its
// file:line saying what the binder does instead; Kafka's own byte and
// string classes pass without a word, and a class that cannot run here
// (also as ErrorHandlingDeserializer's delegate) is still refused, naming
// its key. Before, each Spring one stopped start-up ("not a Kafka client
// property that kafka-go can honour", "is not supported").
func TestSpringSerdeBoilerplateStarts(t *testing.T) {
	const yaml = `spring:
  kafka:
    consumer:
      value-deserializer: org.springframework.kafka.support.serializer.ErrorHandlingDeserializer
      properties:
        spring.deserializer.value.delegate.class: org.springframework.kafka.support.serializer.JsonDeserializer
    producer:
      value-serializer: org.springframework.kafka.support.serializer.JsonSerializer
  cloud:
    function:
      definition: enrich
    stream:
      bindings:
        enrich-in-0: { destination: orders, group: enricher }
        enrich-out-0: { destination: enriched }
      kafka:
        binder:
          brokers: kafka-1
          configuration:
            spring.json.add.type.headers: false
          consumer-properties:
            spring.json.trusted.packages: '*'
            key.deserializer: org.apache.kafka.common.serialization.StringDeserializer
            value.deserializer: org.springframework.kafka.support.serializer.ErrorHandlingDeserializer
            spring.deserializer.value.delegate.class: org.springframework.kafka.support.serializer.JsonDeserializer
          producer-properties:
            key.serializer: org.apache.kafka.common.serialization.StringSerializer
            value.serializer: org.springframework.kafka.support.serializer.JsonSerializer
        bindings:
          enrich-in-0:
            consumer:
              configuration:
                spring.json.use.type.headers: false
                spring:
                  json:
                    value.default.type: com.example.Order
                key.deserializer: org.springframework.kafka.support.serializer.ErrorHandlingDeserializer
                spring.deserializer.key.delegate.class: org.apache.kafka.common.serialization.StringDeserializer
          enrich-out-0:
            producer:
              configuration:
                spring.json.type.mapping: order:com.example.Order
                key.serializer: org.springframework.kafka.support.serializer.StringOrBytesSerializer
`
	warnings, err := scstAppWarnings(t, "application.yaml", yaml)
	if err != nil {
		t.Fatalf("SCSt's Spring Kafka serializer boilerplate: %v", err)
	}
	const (
		settings = "a setting of Spring Kafka's serializers and deserializers"
		json     = "JSON is the binding's content-type conversion"
		errors   = "handled as any failed message"
	)
	want := map[string]string{ // path (origin) → what the warning says
		"spring.kafka.consumer.value-deserializer (application.yaml:4)":                                                              errors,
		"spring.kafka.consumer.properties.spring.deserializer.value.delegate.class (application.yaml:6)":                             json,
		"spring.kafka.producer.value-serializer (application.yaml:8)":                                                                json,
		"spring.cloud.stream.kafka.binder.configuration.spring.json.add.type.headers (application.yaml:20)":                          settings,
		"spring.cloud.stream.kafka.binder.consumer-properties.spring.json.trusted.packages (application.yaml:22)":                    settings,
		"spring.cloud.stream.kafka.binder.consumer-properties.value.deserializer (application.yaml:24)":                              errors,
		"spring.cloud.stream.kafka.binder.consumer-properties.spring.deserializer.value.delegate.class (application.yaml:25)":        json,
		"spring.cloud.stream.kafka.binder.producer-properties.value.serializer (application.yaml:28)":                                json,
		"spring.cloud.stream.kafka.bindings.enrich-in-0.consumer.configuration.spring.json.use.type.headers (application.yaml:33)":   settings,
		"spring.cloud.stream.kafka.bindings.enrich-in-0.consumer.configuration.spring.json.value.default.type (application.yaml:36)": settings,
		"spring.cloud.stream.kafka.bindings.enrich-in-0.consumer.configuration.key.deserializer (application.yaml:37)":               errors,
		"spring.cloud.stream.kafka.bindings.enrich-out-0.producer.configuration.spring.json.type.mapping (application.yaml:42)":      settings,
		"spring.cloud.stream.kafka.bindings.enrich-out-0.producer.configuration.key.serializer (application.yaml:43)":                "StringOrBytesSerializer does",
	}
	for prefix, says := range want {
		found := false
		for _, w := range warnings {
			if strings.HasPrefix(w, prefix+": ignored: ") && strings.Contains(w, says) {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning %s saying %q; warnings:\n%s", prefix, says, strings.Join(warnings, "\n"))
		}
	}
	for _, w := range warnings {
		if strings.Contains(w, "org.apache.kafka.common.serialization") || strings.Contains(w, "delegate.class (application.yaml:38)") {
			t.Errorf("a warning for Kafka's own string (de)serializer, which means what the binder does: %s", w)
		}
	}

	// A .properties file says the same.
	props := strings.Join([]string{
		"spring.cloud.function.definition=enrich",
		"spring.cloud.stream.bindings.enrich-in-0.destination=orders",
		"spring.cloud.stream.bindings.enrich-in-0.group=enricher",
		"spring.cloud.stream.kafka.binder.brokers=kafka-1",
		"spring.cloud.stream.kafka.binder.consumer-properties.spring.json.trusted.packages=*",
		"spring.cloud.stream.kafka.binder.consumer-properties.value.deserializer=org.springframework.kafka.support.serializer.ErrorHandlingDeserializer",
		"spring.cloud.stream.kafka.bindings.enrich-in-0.consumer.configuration.spring.json.use.type.headers=false",
		"",
	}, "\n")
	warnings, err = scstAppWarnings(t, "application.properties", props)
	if err != nil {
		t.Fatalf("the .properties form: %v", err)
	}
	for _, line := range []string{"5", "6", "7"} {
		if !strings.Contains(strings.Join(warnings, "\n"), "(application.properties:"+line+"): ignored: ") {
			t.Errorf("no warning at application.properties:%s; warnings:\n%s", line, strings.Join(warnings, "\n"))
		}
	}

	// What cannot run here is still refused, at its line.
	bad := strings.NewReplacer(
		"spring.deserializer.value.delegate.class: org.springframework.kafka.support.serializer.JsonDeserializer\n          producer-properties",
		"spring.deserializer.value.delegate.class: io.confluent.kafka.serializers.KafkaAvroDeserializer\n          producer-properties",
		"value.serializer: org.springframework.kafka.support.serializer.JsonSerializer",
		"value.serializer: org.springframework.kafka.support.serializer.JsonDeserializer",
	).Replace(yaml)
	_, err = scstAppWarnings(t, "application.yaml", bad)
	wantIn(t, err,
		"stream.kafka.binder.consumer-properties.spring.deserializer.value.delegate.class (application.yaml:25)",
		"KafkaAvroDeserializer\" is not supported",
		"stream.kafka.binder.producer-properties.value.serializer (application.yaml:28)",
		"JsonDeserializer\" is a deserializer: a serializer is wanted here")
}

// TestSpringSerdeBuiltOtherwise: a configuration built otherwise than by
// the loader (a binder's environment, Go code) gets the same rule from the
// binder: Spring Kafka's settings and classes accepted, others refused.
func TestSpringSerdeBuiltOtherwise(t *testing.T) {
	b, err := kafka.New(context.Background(), stream.BinderSettings{Name: "k", Type: kafka.Type,
		Binder: map[string]any{
			"consumer-properties": map[string]any{"spring.json.trusted.packages": "*",
				"value.deserializer": "org.springframework.kafka.support.serializer.ErrorHandlingDeserializer",
				"spring": map[string]any{"deserializer": map[string]any{"value": map[string]any{"delegate": map[string]any{
					"class": "org.springframework.kafka.support.serializer.JsonDeserializer"}}}}},
			"producer-properties": map[string]any{"value.serializer": "org.springframework.kafka.support.serializer.JsonSerializer"},
		}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	v := b.(stream.SpecValidator)
	if err := v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Destination: "t", Extension: map[string]any{
		"configuration": map[string]any{"spring.json.use.type.headers": false,
			"key.deserializer": "org.springframework.kafka.support.serializer.JsonDeserializer"}}}); err != nil {
		t.Errorf("consumer: %v", err)
	}
	err = v.ValidateConsumer(stream.ConsumerSpec{Binding: "in-0", Destination: "t", Extension: map[string]any{
		"configuration": map[string]any{"spring.deserializer.value.delegate.class": "com.example.Mine"}}})
	wantErrs(t, err, map[string]string{
		"stream.kafka.bindings.in-0.consumer.configuration.spring.deserializer.value.delegate.class": "\"com.example.Mine\" is not supported",
	})
}
