// Package scst_test runs a corpus of Spring Cloud Stream configuration
// files (testdata/<fixture>/), written as SCSt users write them after the
// SCSt reference pages and sample applications, on real brokers: Kafka on
// an in-process kfake cluster, RabbitMQ on the local broker in a virtual
// host of each fixture's own. Each subtest loads its fixture with
// config.Load, runs it with small Go functions and asserts what SCSt would
// have created (topics and partitions, exchanges, queues and their
// arguments, bindings, dead-letter destinations) and that messages flow.
//
// Fixtures reach their brokers through placeholders with SCSt-style
// defaults (${KAFKA_BROKERS:localhost:9092}, ${RABBIT_VHOST:/}), which the
// harness sets in the loader's environment.
package scst_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/config"
	"github.com/streambind/streambind/stream"
)

const wait = 20 * time.Second

// msg is the payload of every fixture: SCSt samples send JSON records.
type msg struct {
	ID   string `json:"id,omitempty"`
	Text string `json:"text"`
}

func upper(_ context.Context, m msg) (msg, error) {
	return msg{ID: m.ID, Text: strings.ToUpper(m.Text)}, nil
}

// env is one running fixture.
type env struct {
	t       *testing.T
	kafka   []*kafkatest.Cluster // KAFKA_BROKERS, KAFKA2_BROKERS
	vhost   string               // RABBIT_VHOST, "" without RabbitMQ
	amqp    *amqp.Connection
	app     *stream.App
	loaded  *config.Loaded
	results chan msg // what the fixture's consumers received
}

// fixture is one configuration directory and what it must create.
type fixture struct {
	dir      string
	profiles []string
	// fileProfiles leaves the profiles to the files (spring.profiles.active).
	fileProfiles bool
	kafka        int  // kfake clusters to start
	rabbit       bool // a virtual host of its own
	// types are the binder types registered, as the jars on an SCSt
	// application's classpath.
	types []string
	// fns registers the fixture's functions; results receives what its
	// consumers get.
	fns func(c *stream.Catalog, results chan<- msg)
	// before runs after the brokers are up and before the app starts
	// (probe queues that must exist before messages flow).
	before func(e *env)
	check  func(e *env)
	// env are more environment entries for the loader; {KAFKA_BROKERS}
	// is replaced by the first cluster's addresses.
	env []string
	// skip names the bug that keeps the fixture from passing.
	skip string
	// alone says why the fixture does not run in parallel with the
	// package's others: a check that timing under load can break.
	alone string
	// opts are more app options (named errors, key extractors).
	opts []stream.Option
}

func runFixture(t *testing.T, f fixture) {
	if f.skip != "" {
		t.Skip(f.skip)
	}
	e := &env{t: t, results: make(chan msg, 16)}
	vars := []string{}
	for i := 0; i < f.kafka; i++ {
		c := kafkatest.Start(t)
		e.kafka = append(e.kafka, c)
		name := "KAFKA_BROKERS"
		if i > 0 {
			name = "KAFKA2_BROKERS"
		}
		vars = append(vars, name+"="+c.Brokers())
	}
	if f.rabbit {
		e.vhost = rabbittest.VHost(t)
		host, port, _ := strings.Cut(rabbittest.Address(), ":")
		vars = append(vars, "RABBIT_ADDRESSES="+rabbittest.Address(), "RABBIT_VHOST="+e.vhost, "RABBIT_HOST="+host, "RABBIT_PORT="+port)
		conn, err := amqp.Dial(rabbittest.VHostURL(e.vhost))
		if err != nil {
			t.Fatal(err)
		}
		e.amqp = conn
		t.Cleanup(func() { _ = conn.Close() })
	}
	for _, v := range f.env {
		if len(e.kafka) > 0 {
			v = strings.ReplaceAll(v, "{KAFKA_BROKERS}", e.kafka[0].Brokers())
		}
		if len(e.kafka) > 1 {
			v = strings.ReplaceAll(v, "{KAFKA2_BROKERS}", e.kafka[1].Brokers())
		}
		if e.vhost != "" {
			v = strings.ReplaceAll(strings.ReplaceAll(v, "{RABBIT_VHOST}", e.vhost), "{RABBIT_ADDRESSES}", rabbittest.Address())
		}
		vars = append(vars, v)
	}
	profiles := f.profiles
	if profiles == nil && !f.fileProfiles {
		profiles = []string{}
	}
	discard := slog.New(slog.DiscardHandler)
	loaded, err := config.Load(config.Options{Dir: filepath.Join("testdata", f.dir), Profiles: profiles, Env: vars, Logger: discard})
	if err != nil {
		t.Fatalf("load %s: %v", f.dir, err)
	}
	e.loaded = loaded
	fns := stream.NewCatalog()
	f.fns(fns, e.results)
	// The app's warnings are kept: a binding the file configures that the
	// app leaves unused is warned, which SCSt would not (checked below).
	warned := &warnings{}
	opts := append([]stream.Option{stream.WithoutSignals(), stream.WithLogger(slog.New(warned))}, f.opts...)
	for _, typ := range f.types {
		switch typ {
		case kafka.Type:
			opts = append(opts, stream.WithBinderType(kafka.Type, kafka.New))
		case rabbit.Type:
			opts = append(opts, stream.WithBinderType(rabbit.Type, rabbit.New))
		}
	}
	app, err := stream.NewApp(loaded.Stream, fns, opts...)
	if err != nil {
		t.Fatalf("NewApp %s: %v", f.dir, err)
	}
	e.app = app
	if f.before != nil {
		f.before(e)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case <-app.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	case <-time.After(wait):
		t.Fatal("app not ready")
	}
	f.check(e)
	stop()
	for _, w := range warned.list() {
		if strings.HasPrefix(w, "configured binding not bound") {
			t.Errorf("the app warned: %s", w)
		}
	}
}

// warnings is a slog handler keeping the messages of WARN records and
// above, each with its property attribute.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	m := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "property" {
			m += " (" + a.Value.String() + ")"
		}
		return true
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, m)
	return nil
}

func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// result waits for what a consumer of the fixture received.
func (e *env) result() msg {
	e.t.Helper()
	select {
	case m := <-e.results:
		return m
	case <-time.After(wait):
		e.t.Fatal("no message reached the consumer")
		return msg{}
	}
}

// ---- Kafka probes (franz-go client on the kfake cluster) ----

func (e *env) kclient(i int, opts ...kgo.Opt) *kgo.Client {
	e.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.kafka[i].Addrs()...)}, opts...)...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(cl.Close)
	return cl
}

// topics returns the topics of cluster i with their partition counts.
func (e *env) topics(i int) map[string]int {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, e.kclient(i))
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, tp := range resp.Topics {
		if tp.Topic != nil {
			out[*tp.Topic] = len(tp.Partitions)
		}
	}
	return out
}

// wantTopics checks that cluster i has the topics with these partition
// counts (what SCSt's KafkaTopicProvisioner creates).
func (e *env) wantTopics(i int, want map[string]int) {
	e.t.Helper()
	got := e.topics(i)
	for name, n := range want {
		if got[name] != n {
			e.t.Errorf("cluster %d: topic %q has %d partitions, want %d (topics: %v)", i, name, got[name], n, got)
		}
	}
}

// noTopic checks that cluster i has no topic name.
func (e *env) noTopic(i int, name string) {
	e.t.Helper()
	if n, ok := e.topics(i)[name]; ok {
		e.t.Errorf("cluster %d: topic %q (%d partitions) should not exist", i, name, n)
	}
}

func (e *env) produce(i int, topic string, value string, headers ...string) {
	e.t.Helper()
	r := &kgo.Record{Topic: topic, Value: []byte(value)}
	for j := 0; j+1 < len(headers); j += 2 {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: headers[j], Value: []byte(headers[j+1])})
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.kclient(i).ProduceSync(ctx, r).FirstErr(); err != nil {
		e.t.Fatalf("produce to %s: %v", topic, err)
	}
}

// consume returns the first record of topic on cluster i.
func (e *env) consume(i int, topic string) *kgo.Record {
	e.t.Helper()
	return e.consumeN(i, topic, 1)[0]
}

// consumeN returns the first n records of topic on cluster i (of its
// partitions, in the order fetched).
func (e *env) consumeN(i int, topic string, n int) []*kgo.Record {
	e.t.Helper()
	cl := e.kclient(i, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			e.t.Fatalf("%d of %d records in %s", len(recs), n, topic)
		}
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	return recs[:n]
}

// groups lists the consumer groups of cluster i.
func (e *env) groups(i int) []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := kmsg.NewPtrListGroupsRequest().RequestWith(ctx, e.kclient(i))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, g := range resp.Groups {
		out = append(out, g.Group)
	}
	return out
}

func header(r *kgo.Record, k string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value), true
		}
	}
	return "", false
}

// javaHash is java.lang.String.hashCode, SCSt's partition key hash.
func javaHash(s string) int32 {
	var h int32
	for _, c := range utf16(s) {
		h = 31*h + int32(c)
	}
	return h
}

func utf16(s string) []uint16 {
	var out []uint16
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xD800+(r>>10)), uint16(0xDC00+(r&0x3FF)))
			continue
		}
		out = append(out, uint16(r))
	}
	return out
}

// scstPartition is SCSt's default partition: abs(hashCode) % count.
func scstPartition(key string, count int) int {
	h := javaHash(key)
	if h == -1<<31 {
		h = 0
	}
	if h < 0 {
		h = -h
	}
	return int(h) % count
}

// ---- RabbitMQ probes (amqp091 in the fixture's virtual host) ----

func (e *env) channel() *amqp.Channel {
	e.t.Helper()
	ch, err := e.amqp.Channel()
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = ch.Close() })
	return ch
}

// wantExchange checks that exchange name exists (passive declare) and is
// durable and of kind (declaring it again with SCSt's attributes is
// accepted: a different kind or durability is PRECONDITION_FAILED).
func (e *env) wantExchange(name, kind string) {
	e.t.Helper()
	if err := e.channel().ExchangeDeclarePassive(name, kind, true, false, false, false, nil); err != nil {
		e.t.Errorf("exchange %q: %v", name, err)
		return
	}
	if err := e.channel().ExchangeDeclare(name, kind, true, false, false, false, nil); err != nil {
		e.t.Errorf("exchange %q is not a durable %s exchange: %v", name, kind, err)
	}
}

// wantQueue checks that the durable queue name exists with exactly args
// (passive declare, then a declare with the same arguments, which the
// broker refuses when any argument differs).
func (e *env) wantQueue(name string, args amqp.Table) {
	e.t.Helper()
	if _, err := e.channel().QueueDeclarePassive(name, true, false, false, false, nil); err != nil {
		e.t.Errorf("queue %q: %v", name, err)
		return
	}
	if args == nil {
		args = amqp.Table{}
	}
	if _, err := e.channel().QueueDeclare(name, true, false, false, false, args); err != nil {
		e.t.Errorf("queue %q has other arguments than %v: %v", name, args, err)
	}
}

// noQueue checks that queue name does not exist.
func (e *env) noQueue(name string) {
	e.t.Helper()
	if _, err := e.channel().QueueDeclarePassive(name, true, false, false, false, nil); err == nil {
		e.t.Errorf("queue %q should not exist", name)
	}
}

// probe declares an exclusive queue bound to exchange with key, to see
// what is published there.
func (e *env) probe(exchange, key string) string {
	e.t.Helper()
	ch := e.channel()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, key, exchange, false, nil); err != nil {
		e.t.Fatalf("bind probe to %s: %v", exchange, err)
	}
	return q.Name
}

func (e *env) publish(exchange, key, body string, headers amqp.Table) {
	e.t.Helper()
	ch := e.channel()
	if err := ch.Confirm(false); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, true, false,
		amqp.Publishing{ContentType: "application/json", Headers: headers, Body: []byte(body)})
	if err != nil {
		e.t.Fatal(err)
	}
	if ok, err := conf.WaitContext(ctx); err != nil || !ok {
		e.t.Fatalf("publish to %s/%s not confirmed: %v", exchange, key, err)
	}
}

// get waits for a message in queue q.
func (e *env) get(q string) amqp.Delivery {
	e.t.Helper()
	ch := e.channel()
	deadline := time.Now().Add(wait)
	for {
		d, ok, err := ch.Get(q, true)
		if err != nil {
			e.t.Fatalf("get from %s: %v", q, err)
		}
		if ok {
			return d
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no message in %s", q)
		}
		time.Sleep(20 * time.Millisecond) // a basic.get poll, as a DLQ inspector does
	}
}

// count is the number of ready messages in queue q.
func (e *env) count(q string) int {
	e.t.Helper()
	st, err := e.channel().QueueDeclarePassive(q, true, false, false, false, nil)
	if err != nil {
		e.t.Fatalf("queue %q: %v", q, err)
	}
	return st.Messages
}

// createTopic creates topic with partitions on cluster i, as an operator
// would before the application starts.
func (e *env) createTopic(i int, topic string, partitions int32) {
	e.t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = topic, partitions, 1
	req.Topics = append(req.Topics, t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := req.RequestWith(ctx, e.kclient(i))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, rt := range resp.Topics {
		if rt.ErrorCode != 0 {
			e.t.Fatalf("create topic %s: error code %d", topic, rt.ErrorCode)
		}
	}
}
