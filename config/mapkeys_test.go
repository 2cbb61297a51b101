package config

import (
	"reflect"
	"strings"
	"testing"
)

// The keys of free maps (function.bindings, retryable-exceptions, the
// maps below a binder property) keep their case as written, in YAML and in
// .properties (dotted and bracket forms); property names stay relaxed.
func TestMapKeysKeepTheirCase(t *testing.T) {
	t.Run("properties", func(t *testing.T) {
		l := mustLoad(t, Options{Dir: "testdata/mapkeys-properties"})
		c := l.Stream
		want := map[string]string{"toUpper|addTax-in-0": "enrichIn", "toUpper|addTax-out-0": "enrichOut", "sink-in-0": "sinkIn"}
		if !reflect.DeepEqual(c.Function.Bindings, want) {
			t.Errorf("function.bindings = %v, want %v", c.Function.Bindings, want)
		}
		if got := c.FunctionBindingName("toUpper|addTax-in-0"); got != "enrichIn" {
			t.Errorf("FunctionBindingName(toUpper|addTax-in-0) = %q", got)
		}
		// Still matched case-insensitively, as documented.
		if got := c.FunctionBindingName("TOUPPER|addtax-out-0"); got != "enrichOut" {
			t.Errorf("FunctionBindingName(TOUPPER|addtax-out-0) = %q", got)
		}
		re := c.Binding("flaky-in-0").Consumer.RetryableExceptions
		if want := map[string]bool{"java.lang.IllegalStateException": true, "java.io.UncheckedIOException": false}; !reflect.DeepEqual(re, want) {
			t.Errorf("retryable-exceptions = %v, want %v", re, want)
		}
		if o := c.Origins["stream.function.bindings.toupper|addtax-in-0"]; o != "application.properties:7" {
			t.Errorf("origin of function.bindings[toUpper|addTax-in-0] = %q", o)
		}
		if o := originOf(c.Origins, "stream.bindings.flaky-in-0.consumer.retryable-exceptions.java.lang.IllegalStateException"); o != "application.properties:15" {
			t.Errorf("origin of the retryable exception = %q", o)
		}
		fb := lookupPath(l.Raw, []string{"stream", "function", "bindings"}).(map[string]any)
		if _, ok := fb["toUpper|addTax-in-0"]; !ok {
			t.Errorf("Raw function.bindings = %v, want the keys as written", fb)
		}
	})
	t.Run("yaml", func(t *testing.T) {
		c := mustLoad(t, Options{Dir: "testdata/mapkeys-yaml"}).Stream
		if want := map[string]string{"toUpper-in-0": "upIn", "toUpper-out-0": "upOut"}; !reflect.DeepEqual(c.Function.Bindings, want) {
			t.Errorf("function.bindings = %v, want %v", c.Function.Bindings, want)
		}
		s := c.Binding("sink-in-0").Consumer
		if s.MaxAttempts != 2 || !reflect.DeepEqual(s.RetryableExceptions, map[string]bool{"java.lang.IllegalStateException": false}) {
			t.Errorf("sink-in-0 consumer = %+v", s)
		}
	})
}

// Spring Boot's connection keys come from the environment even when no
// file mentions spring.rabbitmq or spring.kafka (a Kubernetes habit);
// other SPRING_ variables do not become keys.
func TestBootConnectionKeysFromTheEnvironmentAlone(t *testing.T) {
	l := mustLoad(t, Options{Dir: "testdata/mapkeys-yaml", Env: []string{
		"SPRING_RABBITMQ_HOST=10.1.2.3", "SPRING_RABBITMQ_VIRTUAL_HOST=vh", "SPRING_RABBITMQ_USERNAME=bob",
		"SPRING_RABBITMQ_PASSWORD=s3cret", "SPRING_KAFKA_BOOTSTRAP_SERVERS=k1:9092,k2:9092", "SPRING_FOO_BAR=x",
	}})
	rd := l.Stream.ConnectionDefaults["rabbit"]
	if rd["addresses"] != "10.1.2.3:5672" || rd["virtual-host"] != "vh" || rd["username"] != "bob" || rd["password"] != "s3cret" {
		t.Errorf("rabbit connection defaults = %v", rd)
	}
	if kd := l.Stream.ConnectionDefaults["kafka"]; kd["brokers"] != "k1:9092,k2:9092" && kd["bootstrap-servers"] != "k1:9092,k2:9092" {
		t.Errorf("kafka connection defaults = %v", kd)
	}
	if o := l.Stream.Origins["spring.rabbitmq.virtual-host"]; o != "env SPRING_RABBITMQ_VIRTUAL_HOST" {
		t.Errorf("origin of spring.rabbitmq.virtual-host = %q", o)
	}
	if o := l.Stream.Origins["stream.rabbit.binder.addresses"]; !strings.HasPrefix(o, "env SPRING_RABBITMQ_HOST") {
		t.Errorf("origin of the binder's addresses = %q", o)
	}
	if spring, _ := l.Raw["spring"].(map[string]any); spring["foo"] != nil {
		t.Errorf("SPRING_FOO_BAR became a key: %v", spring)
	}
}

// Spring Boot's Kafka client id, security protocol and client property
// maps come from the environment alone too (a Confluent Cloud deployment
// gives SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG so): a map's key from a
// variable has '.' for '_', as Spring Boot binds it.
func TestBootKafkaPropertiesFromTheEnvironmentAlone(t *testing.T) {
	l := mustLoad(t, Options{Dir: "testdata/mapkeys-yaml", Env: []string{
		"SPRING_KAFKA_BOOTSTRAP_SERVERS=k1:9092", "SPRING_KAFKA_CLIENT_ID=orders",
		"SPRING_KAFKA_PROPERTIES_SASL_MECHANISM=PLAIN", "SPRING_KAFKA_SECURITY_PROTOCOL=SASL_SSL",
		"SPRING_KAFKA_CONSUMER_PROPERTIES_MAX_POLL_RECORDS=100",
	}})
	kd := l.Stream.ConnectionDefaults["kafka"]
	if kd["client-id"] != "orders" {
		t.Errorf("kafka client-id = %v (defaults %v)", kd["client-id"], kd)
	}
	conf, _ := kd["configuration"].(map[string]any)
	if conf["sasl.mechanism"] != "PLAIN" || conf["security.protocol"] != "SASL_SSL" {
		t.Errorf("kafka configuration = %v", conf)
	}
	if cp, _ := kd["consumer-properties"].(map[string]any); cp["max.poll.records"] != "100" {
		t.Errorf("kafka consumer-properties = %v", kd["consumer-properties"])
	}
	if o := l.Stream.Origins["spring.kafka.properties.sasl.mechanism"]; o != "env SPRING_KAFKA_PROPERTIES_SASL_MECHANISM" {
		t.Errorf("origin of spring.kafka.properties.sasl.mechanism = %q", o)
	}
}
