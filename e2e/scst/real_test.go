package scst_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

// Real SCSt configuration files (testdata/real/*, each naming the public
// repository and path it was copied from), run unchanged: the brokers are
// given the way an operator gives them to the SCSt service, in the
// environment (SPRING_KAFKA_BOOTSTRAP_SERVERS, SPRING_RABBITMQ_*).
// s05 needed the ZooKeeper keys accepted (a81398d), s03 numeric headers in
// expressions (0e16817), s07 bridge outputs named like a function's
// (1c71402), s10 a routing callback (stream.WithRoutingCallback, SCF's
// MessageRoutingCallback bean). Not run here: s13 (an SCSt 2.x
// @EnableBinding file: binding "input" needs
// stream.input-bindings: input, as in SCSt 4, which dropped annotations);
// s07's transactional profile and s11's Kafka Streams binder are refused
// (TestRealSCStConfigsRefused).

var errRetryable = errors.New("retryable")

func realFixtures() []fixture {
	kafkaEnv := []string{"SPRING_KAFKA_BOOTSTRAP_SERVERS={KAFKA_BROKERS}"}
	rabbitEnv := []string{"SPRING_RABBITMQ_ADDRESSES={RABBIT_ADDRESSES}", "SPRING_RABBITMQ_VIRTUAL_HOST={RABBIT_VHOST}"}
	return []fixture{
		{dir: "real/s01-multibinder-kafka-rabbit", kafka: 1, rabbit: true, types: both, env: append(kafkaEnv, rabbitEnv...),
			fns: func(c *stream.Catalog, out chan<- msg) {
				// Polled every second, as SCSt's sample: the anonymous
				// consumer starts at the end of dataIn (SCSt's latest), so
				// a message sent before it started is not read.
				stream.AddSupplier(c, "sendTestData", func(context.Context) (msg, error) { return msg{Text: "hello"}, nil })
				stream.AddFunction(c, "process", upper)
				stream.AddConsumer(c, "receive", func(_ context.Context, m msg) error { out <- m; return nil })
			}, check: func(e *env) {
				if m := e.result(); m.Text != "HELLO" {
					e.t.Errorf("got %+v", m)
				}
				e.wantTopics(0, map[string]int{"dataIn": 1})
				e.wantExchange("dataOut", "topic")
			}},
		{dir: "real/s02-function-composition-kafka", kafka: 1, types: kafkaOnly, env: kafkaEnv,
			fns: func(c *stream.Catalog, _ chan<- msg) {
				stream.AddFunction(c, "uppercase", upper)
				stream.AddFunction(c, "echo", func(_ context.Context, m msg) (msg, error) { return m, nil })
			}, check: func(e *env) {
				kafkaFlow(e, 0, 0, "uppercase-in", "uppercaseecho-out-0")
			}},
		{dir: "real/s03-rabbit-partitioning-producer", rabbit: true, types: rabbitOnly, env: rabbitEnv,
			fns: func(c *stream.Catalog, _ chan<- msg) {
				// The sample's header is the payload's length; here 3.
				var sent atomic.Bool
				stream.AddSupplier(c, "generate", func(context.Context) (stream.Message[msg], error) {
					if sent.Swap(true) {
						return stream.Message[msg]{}, stream.Skip
					}
					return stream.Message[msg]{Payload: msg{Text: "abc"}, Headers: stream.Headers{"partitionKey": "3"}}, nil
				})
			}, check: func(e *env) {
				for i := 0; i < 4; i++ {
					e.wantQueue(fmt.Sprintf("partitioned.destination.myGroup-%d", i), nil)
				}
				// SCSt: headers['partitionKey'] - 1 is 2, abs(2 hashCode %% 4) is 2.
				if m := decode(e.t, e.get("partitioned.destination.myGroup-2").Body); m.Text != "abc" {
					e.t.Errorf("got %+v", m)
				}
			}},
		{dir: "real/s04-rabbit-partitioning-consumer", rabbit: true, types: rabbitOnly, env: rabbitEnv,
			fns: collect("listen"), check: func(e *env) {
				e.wantQueue("partitioned.destination.myGroup-0", nil)
				e.publish("partitioned.destination", "partitioned.destination-0", `{"text":"p0"}`, nil)
				if m := e.result(); m.Text != "p0" {
					e.t.Errorf("got %+v", m)
				}
			}},
		{dir: "real/s05-two-kafka-clusters", kafka: 2, types: kafkaOnly,
			env: []string{"kafkaBroker1={KAFKA_BROKERS}", "kafkaBroker2={KAFKA2_BROKERS}", "zk1=localhost:2181", "zk2=localhost:2182"},
			fns: func(c *stream.Catalog, out chan<- msg) {
				// Polled every second, as SCSt's sample: the anonymous
				// consumer starts at the end of dataIn (SCSt's latest), so
				// a message sent before it started is not read.
				stream.AddSupplier(c, "sendTestData", func(context.Context) (msg, error) { return msg{Text: "hello"}, nil })
				stream.AddFunction(c, "process", upper)
				stream.AddConsumer(c, "receive", func(_ context.Context, m msg) error { out <- m; return nil })
			}, check: func(e *env) {
				if m := e.result(); m.Text != "HELLO" {
					e.t.Errorf("got %+v", m)
				}
				e.wantTopics(0, map[string]int{"dataIn": 1})
				e.wantTopics(1, map[string]int{"dataOut": 1})
			}},
		{dir: "real/s06-kotlin-rabbit-functions", rabbit: true, types: rabbitOnly, env: rabbitEnv,
			fns: func(c *stream.Catalog, _ chan<- msg) {
				stream.AddFunction(c, "uppercase", upper)
				stream.AddFunction(c, "javaFunction", upper)
			}, check: func(e *env) {
				for _, x := range []string{"uppercase-in-0", "uppercase-out-0", "javaFunction-in-0", "javaFunction-out-0"} {
					e.wantExchange(x, "topic")
				}
				out := e.probe("uppercase-out-0", "#")
				e.publish("uppercase-in-0", "uppercase-in-0", `{"text":"hi"}`, nil)
				if m := decode(e.t, e.get(out).Body); m.Text != "HI" {
					e.t.Errorf("got %+v", m)
				}
			}},
		s07Batch(kafkaEnv),
		{dir: "real/s08-test-embedded-kafka", kafka: 1, types: kafkaOnly, env: kafkaEnv,
			fns: uppercaseFns("handle"), check: func(e *env) {
				kafkaFlow(e, 0, 0, "testEmbeddedIn", "testEmbeddedOut")
				if g := e.groups(0); !contains(g, "embeddedKafkaApplication") {
					e.t.Errorf("groups %v", g)
				}
			}},
		{dir: "real/s09-multi-functions-rabbit", rabbit: true, types: rabbitOnly, env: rabbitEnv,
			fns: func(c *stream.Catalog, out chan<- msg) {
				for _, n := range []string{"source1", "source2"} {
					var sent atomic.Bool
					stream.AddSupplier(c, n, func(context.Context) (msg, error) {
						if sent.Swap(true) {
							return msg{}, stream.Skip
						}
						return msg{Text: n}, nil
					})
				}
				for _, n := range []string{"sink1", "sink2"} {
					stream.AddConsumer(c, n, func(_ context.Context, m msg) error { out <- msg{ID: n, Text: m.Text}; return nil })
				}
			}, check: func(e *env) {
				got := map[string]string{}
				for i := 0; i < 2; i++ {
					m := e.result()
					got[m.ID] = m.Text
				}
				if got["sink1"] != "source1" || got["sink2"] != "source2" {
					e.t.Errorf("got %v", got)
				}
			}},
		s10RoutingCallback(kafkaEnv),
		{dir: "real/s12-rogervinas-kafka-step-by-step", kafka: 1, types: kafkaOnly,
			env:  []string{"SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS={KAFKA_BROKERS}"},
			opts: []stream.Option{stream.WithNamedError("com.rogervinas.stream.domain.MyRetryableException", errRetryable)},
			fns: func(c *stream.Catalog, out chan<- msg) {
				stream.AddSupplier(c, "my-producer", func(context.Context) (msg, error) { return msg{}, stream.Skip })
				var calls atomic.Int32
				stream.AddConsumer(c, "my-consumer", func(_ context.Context, m msg) error {
					n := calls.Add(1)
					if m.Text == "retry" {
						out <- msg{ID: "call", Text: m.Text}
						return errRetryable
					}
					_ = n
					return errDeclined
				})
			}, check: func(e *env) {
				e.produce(0, "my.topic", `{"id":"r","text":"retry"}`)
				for i := 0; i < 5; i++ {
					e.result()
				}
				r := e.consume(0, "my.topic.errors")
				if m := decode(e.t, r.Value); m.ID != "r" {
					e.t.Errorf("dead letter %+v", m)
				}
				e.wantTopics(0, map[string]int{"my.topic.errors": 1})
				e.noTopic(0, "error.my.topic.stream-demo")
				if g := e.groups(0); !contains(g, "stream-demo") {
					e.t.Errorf("groups %v", g)
				}
			}},
		{dir: "real/s14-packt-product-service", rabbit: true, types: both, env: rabbitEnv,
			fns: failingProcessor, check: func(e *env) {
				e.wantQueue("products.productsGroup", amqp.Table{"x-dead-letter-exchange": "DLX", "x-dead-letter-routing-key": "products.productsGroup"})
				e.publish("products", "products", `{"id":"p1","text":"x"}`, nil)
				if m := e.result(); m.ID != "p1" {
					e.t.Errorf("got %+v", m)
				}
				d := e.get("products.productsGroup.dlq")
				if m := decode(e.t, d.Body); m.ID != "p1" {
					e.t.Errorf("dead letter %+v", m)
				}
				if _, ok := d.Headers["x-exception-message"]; !ok {
					e.t.Errorf("republishToDlq: no x-exception-message in %v", d.Headers)
				}
				// maxAttempts: 3, all made before the dead letter.
				if n := 1 + len(e.results); n != 3 {
					e.t.Errorf("%d attempts, want 3", n)
				}
			}},
		{dir: "real/s14-packt-product-service", profiles: []string{"streaming_partitioned", "streaming_instance_1"}, rabbit: true, types: both, env: rabbitEnv,
			fns: collect("messageProcessor"), check: func(e *env) {
				e.wantQueue("products.productsGroup-1", amqp.Table{"x-dead-letter-exchange": "DLX", "x-dead-letter-routing-key": "products.productsGroup-1"})
				e.noQueue("products.productsGroup")
				e.publish("products", "products-1", `{"text":"p1"}`, nil)
				if m := e.result(); m.Text != "p1" {
					e.t.Errorf("got %+v", m)
				}
			}},
		{dir: "real/s14-packt-product-service", profiles: []string{"kafka"}, kafka: 1, types: both,
			env: []string{"SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS={KAFKA_BROKERS}"},
			fns: failingProcessor, check: func(e *env) {
				e.produce(0, "products", `{"id":"k1","text":"x"}`)
				if m := decode(e.t, e.consume(0, "error.products.productsGroup").Value); m.ID != "k1" {
					e.t.Errorf("dead letter %+v", m)
				}
				if g := e.groups(0); !contains(g, "productsGroup") {
					e.t.Errorf("groups %v", g)
				}
			}},
	}
}

// s07Batch is the kafka-batch sample: its one Consumer bean (no
// definition) takes a batch and sends each record upper-cased with
// StreamBridge to output-out-0, configured with destination batch-out.
func s07Batch(vars []string) fixture {
	var app atomic.Pointer[stream.App]
	return fixture{dir: "real/s07-kafka-batch", kafka: 1, types: kafkaOnly, env: vars,
		fns: func(c *stream.Catalog, out chan<- msg) {
			stream.AddConsumer(c, "consumer", func(ctx context.Context, ms []string) error {
				for _, m := range ms {
					if err := app.Load().Bridge().Send(ctx, "output-out-0", strings.ToUpper(m)); err != nil {
						return err
					}
				}
				return nil
			})
		},
		before: func(e *env) { app.Store(e.app) },
		check: func(e *env) {
			e.produce(0, "batch-in", `"test0"`)
			if v := string(e.consume(0, "batch-out").Value); v != `"TEST0"` {
				e.t.Errorf("batch-out got %s", v)
			}
			if g := e.groups(0); !contains(g, "batch-in") {
				e.t.Errorf("groups %v", g)
			}
		}}
}

// s10RoutingCallback is the message-routing-callback sample: with
// routing enabled and no definition, functionRouter-in-0 (its topic by
// that name) is bound alone, and the sample's MessageRoutingCallback
// routes each message by its event_type header to the consumer its enum
// names; an unknown event_type fails (IllegalStateException there).
func s10RoutingCallback(vars []string) fixture {
	type order struct {
		ID    string  `json:"id"`
		Price float64 `json:"price"`
	}
	type menu struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	bindings := map[string]string{"ORDER_EVENT": "orderConsumer", "MENU_EVENT": "menuConsumer"}
	return fixture{dir: "real/s10-routing-callback", kafka: 1, types: kafkaOnly, env: vars,
		opts: []stream.Option{stream.WithRoutingCallback(func(_ context.Context, m stream.Message[[]byte]) (string, error) {
			if b, ok := bindings[m.Headers["event_type"]]; ok {
				return b, nil
			}
			return "", fmt.Errorf("event_type %q was not recognized; supported values are ORDER_EVENT, MENU_EVENT", m.Headers["event_type"])
		})},
		fns: func(c *stream.Catalog, out chan<- msg) {
			stream.AddConsumer(c, "orderConsumer", func(_ context.Context, o order) error {
				out <- msg{ID: "order", Text: fmt.Sprintf("%s %.2f", o.ID, o.Price)}
				return nil
			})
			stream.AddConsumer(c, "menuConsumer", func(_ context.Context, m menu) error {
				out <- msg{ID: "menu", Text: m.ID + " " + m.Name}
				return nil
			})
			stream.AddSupplier(c, "supply", func(context.Context) (stream.Message[menu], error) {
				return stream.NewMessage(menu{ID: "polled"}, "event_type", "MENU_EVENT"), nil
			})
		},
		check: func(e *env) {
			if e.app.Binding("supply-out-0") != nil || e.app.Binding("functionRouter-in-0") == nil {
				e.t.Fatalf("bindings %v, want functionRouter-in-0 alone", e.app.Bindings())
			}
			// The consumer is anonymous (latest, as Start found it): what is
			// sent once the app is ready is delivered, however late the
			// group's assignment. An unknown event type fails (retried,
			// then dropped: no DLQ).
			e.produce(0, "functionRouter-in-0", `{"id":"o1","price":9.5}`, "event_type", "ORDER_EVENT")
			e.produce(0, "functionRouter-in-0", `{"id":"m1","name":"lunch"}`, "event_type", "MENU_EVENT")
			e.produce(0, "functionRouter-in-0", `{"id":"x"}`, "event_type", "DRINK_EVENT")
			got := map[string]string{}
			for range 2 {
				m := e.result()
				got[m.ID] = m.Text
			}
			if got["order"] != "o1 9.50" || got["menu"] != "m1 lunch" {
				e.t.Errorf("got %v", got)
			}
		}}
}

// failingProcessor is the Packt sample's messageProcessor failing every
// message: it reports each attempt's message.
func failingProcessor(c *stream.Catalog, out chan<- msg) {
	stream.AddConsumer(c, "messageProcessor", func(_ context.Context, m msg) error {
		select {
		case out <- m:
		default:
		}
		return errDeclined
	})
}

func TestRealSCStConfigs(t *testing.T) {
	t.Parallel()
	for _, f := range realFixtures() {
		name := strings.TrimPrefix(f.dir, "real/")
		if f.profiles != nil {
			name += "/" + strings.Join(f.profiles, ",")
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel() // brokers of its own, as TestSCStFixtures's
			runFixture(t, f)
		})
	}
}

// TestRealSCStConfigsRefused: what the real files ask for and streambind
// refuses on purpose fails start-up at the file's line, saying why.
func TestRealSCStConfigsRefused(t *testing.T) {
	for _, c := range []struct {
		dir      string
		profiles []string
		want     []string
	}{
		// Kafka Streams (coming-from-spring-cloud-stream.md, Not supported).
		{"real/s11-rogervinas-multibinder", []string{}, []string{"application.yml:30", `binder type "kstream"`}},
		// Exactly-once transactions (same page, Kafka without transactions).
		{"real/s07-kafka-batch", []string{"transactional"}, []string{"application.yml:31", "transaction-id-prefix", "exactly-once transactions are not supported"}},
	} {
		t.Run(strings.TrimPrefix(c.dir, "real/"), func(t *testing.T) {
			loaded, err := config.Load(config.Options{Dir: filepath.Join("testdata", c.dir), Profiles: c.profiles,
				Env: []string{"SPRING_KAFKA_BOOTSTRAP_SERVERS=localhost:1"}, Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				_, err = stream.NewApp(loaded.Stream, stream.NewCatalog(), stream.WithoutSignals(),
					stream.WithLogger(slog.New(slog.DiscardHandler)), stream.WithBinderType(kafka.Type, kafka.New))
			}
			for _, w := range c.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q: %v", w, err)
				}
			}
		})
	}
}
