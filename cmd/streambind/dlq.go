package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/topology"
)

// dlqFlags select the dead letters a dlq subcommand works on.
type dlqFlags struct {
	lf      loadFlags
	config  string
	binding string
	group   string
	binder  string
	verbose bool
	connect connectFlag
}

func (f *dlqFlags) add(cmd *cobra.Command) {
	f.lf.add(cmd)
	cmd.Flags().StringVar(&f.config, "config", ".", configFlagHelp)
	cmd.Flags().StringVar(&f.binding, "binding", "", "the consumer binding whose dead letters to work on (or a binding with consumer.dead-letters-of: the one it reads) (required)")
	cmd.Flags().StringVar(&f.group, "group", "", "Kafka: the group whose committed position marks what was removed, which replay and purge join as members (default streambind-dlq; not a group an app consumes with: the binding's own is refused); in process: the group of the dead-letter destination whose copy to use (default: the only one)")
	cmd.Flags().StringVar(&f.binder, "binder", "", binderFlagHelp)
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "log what the binder does on stderr")
	f.connect.add(cmd)
}

// dlqTarget is a binding's dead letters, resolved from the configuration
// by the binder's own naming (stream.DeadLetterSourceOf).
type dlqTarget struct {
	src    string // the consumer binding that dead-letters
	typ    string // its binder's type
	eff    stream.BindingConfig
	spec   stream.ConsumerSpec
	where  string // the dead-letter destination, as the binder names it
	binder stream.Binder
	store  stream.DeadLetterStore
	open   stream.DeadLetterOpen
	// connect bounds reaching the broker (--connect-timeout); notice
	// says once that it is retrying.
	connect connectBound
	notice  *retryNotice
	// producerPrefix is stream.rabbit.default.producer.prefix on
	// RabbitMQ: replay --to's, as send --destination's.
	producerPrefix string
}

// replayExtension is the binder properties of the producer that replays
// to dest: on RabbitMQ, the binding's prefix when dest is the binding's
// own destination, so that the copies go to the exchange
// <prefix><destination> its queue is bound to (the bare destination is
// another exchange: the replay failed unroutable, or, on a broker shared
// by environments, reached another environment's queues); for another
// destination (--to, named as in the configuration)
// stream.rabbit.default.producer.prefix, as a producer binding of the
// service's that sets none has it and send --destination applies it. A
// literal exchange (--to-exchange) has no prefix.
//
// On RabbitMQ the producer declares nothing (declare-exchange: false):
// checkReplayExchange found the exchange before it is bound, and a replay
// creates no exchange.
func (t *dlqTarget) replayExtension(dest string, literal bool) map[string]any {
	if t.typ != rabbit.Type {
		return nil
	}
	ext := map[string]any{"declare-exchange": false}
	if p := t.replayPrefix(dest, literal); p != "" {
		ext["prefix"] = p
	}
	return ext
}

// replayPrefix is the RabbitMQ prefix of the exchange a replay to dest
// sends to (see replayExtension).
func (t *dlqTarget) replayPrefix(dest string, literal bool) string {
	if literal {
		return ""
	}
	if dest == t.spec.Destination {
		return topology.ExtString(t.spec.Extension, "prefix")
	}
	return t.producerPrefix
}

// checkReplayExchange fails, on RabbitMQ, when the exchange a replay to
// dest would send to does not exist: a replay target is not created (a
// mistyped --to declared an exchange of that name, and the replay then
// failed unroutable all the same). The check is a passive declaration,
// which creates nothing.
func (t *dlqTarget) checkReplayExchange(ctx context.Context, dest string, literal bool) error {
	rb, ok := t.binder.(*rabbit.Binder)
	if !ok {
		return nil
	}
	ex := t.replayPrefix(dest, literal) + dest
	if len(ex) > maxExchangeName {
		return usage("exchange %s is %d bytes long (the prefix applied); an AMQP exchange name is at most %d bytes", ex, len(ex), maxExchangeName)
	}
	found, err := rb.ExchangeExists(ctx, ex)
	if err != nil {
		return err
	}
	if found {
		return nil
	}
	if dest == t.spec.Destination && !literal {
		return fmt.Errorf("exchange %s, the destination of %s, does not exist in the virtual host: start the binding's service first (it declares its exchange and queue), or check that this configuration connects where the app does (broker, vhost, prefix); a replay creates no exchange, and the dead letters were kept", ex, t.src)
	}
	flag := "--to " + dest
	if literal {
		flag = "--to-exchange " + dest
	}
	if isQueue, qerr := rb.QueueExists(ctx, ex); qerr == nil && isQueue {
		return fmt.Errorf("exchange %s (%s) does not exist in the virtual host, but a queue of that name does: to replay to that queue, write --to-queue=%s; the dead letters were kept", ex, flag, ex)
	}
	return fmt.Errorf("exchange %s (%s) does not exist in the virtual host: a replay sends to an exchange that exists and creates none; check the name (--to applies stream.rabbit.default.producer.prefix, --to-exchange names the exchange exactly), or declare it (and bind its queues) first; the dead letters were kept", ex, flag)
}

// replayProducer is the producer settings of the replay to dest: on
// RabbitMQ, a replay to the own destination of a partitioned binding with
// a group routes each copy as a partitioned producer does,
// <destination>-<scst_partition>, the key its partition's queue
// (<queue>-<n>) is bound with: sent with the destination alone as the
// key, as an unpartitioned producer sends, the copies reached no queue
// (unroutable, the replay stopped). The copy keeps its dead letter's
// scst_partition; one without it is unroutable all the same, and its
// dead letter is kept.
func (t *dlqTarget) replayProducer(dest string, literal bool) stream.ProducerConfig {
	if t.typ != rabbit.Type || literal || dest != t.spec.Destination || !t.spec.Consumer.Partitioned || t.spec.Group == "" {
		return stream.ProducerConfig{}
	}
	// The rabbit producer routes by the scst_partition header when
	// partitioned; the expression itself is not evaluated here (no
	// partition is selected: the copy's header is its dead letter's).
	return stream.ProducerConfig{PartitionKeyExpression: "headers['" + stream.HeaderPartition + "']", PartitionCount: max(t.spec.Consumer.InstanceCount, 1)}
}

// takePath takes the PATH argument (takePath in load.go).
func (f *dlqFlags) takePath(cmd *cobra.Command, args []string) error {
	return takePath(cmd, args, &f.config)
}

// resolve loads the configuration, creates the binding's binder (as an app
// does) and finds where its dead letters are.
func (f *dlqFlags) resolve(cmd *cobra.Command, e *runEnv) (*dlqTarget, error) {
	if f.binding == "" {
		return nil, usage("say whose dead letters: --binding NAME")
	}
	if err := f.connect.check(); err != nil {
		return nil, err
	}
	s, err := loadService(e, f.config, f.lf.profiles(cmd))
	if err != nil {
		return nil, failed(err)
	}
	if len(s.loadErrs) > 0 {
		return nil, failed(fmt.Errorf("%s: the configuration has errors (streambind lint shows them):\n%s", s.configFile(), s.loadErrs.Error()))
	}
	c := *s.loaded.Stream
	if err := applyBinderFlag(&c, f.binder); err != nil {
		return nil, err
	}
	cfg := &c
	s.loaded.Stream = cfg
	var inputs []string
	src := ""
	cs := check(s)
	for _, b := range cs.bindings {
		if !b.input {
			continue
		}
		inputs = append(inputs, b.name)
		if strings.EqualFold(b.name, f.binding) {
			src = b.name
		}
	}
	if src == "" && len(cs.problems) > 0 {
		return nil, failed(fmt.Errorf("%s: the configuration has errors (streambind lint shows them):\n%s", s.configFile(), cs.problems.Error()))
	}
	for _, b := range cs.bindings {
		if src == "" && !b.input && strings.EqualFold(b.name, f.binding) {
			return nil, usage("%s: %s is an output binding: dead letters are a consumer binding's (consumer bindings: %s)", s.configFile(), b.name, listOrNone(inputs))
		}
	}
	if src == "" {
		// A --binding the configuration does not have is bad usage (exit
		// status 2), as a missing --binding is.
		return nil, usage("%s: no consumer binding %q%s (consumer bindings: %s)", s.configFile(), f.binding, didYouMean(f.binding, inputs), listOrNone(inputs))
	}
	if of := cfg.Binding(src).Consumer.DeadLettersOf; of != "" {
		src = of // a reader: the dead letters it reads
		for _, n := range inputs {
			if strings.EqualFold(n, of) {
				src = n
			}
		}
	}
	if err := checkBinderChoice(cfg, src, f.binder); err != nil {
		return nil, err
	}
	eff := cfg.Binding(src)
	// The binder as the app creates it (stream.BinderSettingsOf): its
	// environment, stream.<type>.binder and the Spring Boot connection
	// defaults (spring.rabbitmq.*, spring.kafka.*), as send and tail get.
	settings := stream.BinderSettingsOf(cfg, eff.Binder)
	typ := settings.Type
	factories := binderTypes()
	if e.binders != nil {
		factories = e.binders
	} else if typ == memory.Type {
		return nil, failed(errInProcess)
	}
	factory, ok := factories[typ]
	if !ok {
		return nil, failed(fmt.Errorf("binding %s: unknown binder type %q", src, typ))
	}
	log := f.logger(e)
	settings.Logger = log.With("binder", settings.Name)
	b, err := factory(cmd.Context(), settings)
	if err != nil {
		return nil, failed(fmt.Errorf("binder %s: %w", settings.Name, err))
	}
	if typ == rabbit.Type && eff.Group == "" && eff.Consumer.DLQ {
		_ = b.Close(cmd.Context())
		cons, _ := cfg.Extension(typ, src)
		return nil, failed(anonymousRabbitDeadLetters(src, f.binding, eff.Destination, cons))
	}
	ds, _, err := stream.DeadLetterSourceOf(cfg, b, typ, src, "--binding "+f.binding)
	if err != nil {
		_ = b.Close(cmd.Context())
		return nil, failed(err)
	}
	store, ok := b.(stream.DeadLetterStore)
	if !ok {
		_ = b.Close(cmd.Context())
		return nil, failed(fmt.Errorf("binder type %s cannot list or remove dead letters", typ))
	}
	cons, _ := cfg.Extension(typ, src)
	where := ds.Destination
	if ds.Group != "" {
		where = topology.DeadLetterQueue(ds) + " (on " + ds.Destination + ")"
	} else if rb, ok := b.(*redis.Binder); ok {
		where = rb.StreamKey(ds.Destination) // with the key-prefix, as redis-cli names it
	}
	bound := f.connect.boundOf(cfg, eff.Binder)
	notice := newRetryNotice(e.stderr, bound)
	notice.log = log
	// The binder's notes for the person (Kafka: a join that waits for a
	// killed replay's partitions; a --group that never removed any).
	noticeFn := func(level slog.Level, msg string) {
		kind := "note"
		if level >= slog.LevelWarn {
			kind = "warning"
		}
		fmt.Fprintf(e.stderr, "%s: %s\n", kind, msg)
	}
	return &dlqTarget{src: src, typ: typ, eff: eff, where: where, binder: b, store: store, open: stream.DeadLetterOpen{Group: f.group, Notice: noticeFn},
		connect: bound, notice: notice, producerPrefix: configPrefix(cfg, typ, "", false),
		spec: stream.ConsumerSpec{Binding: src, Destination: stream.Destinations(eff.Destination)[0], Group: eff.Group,
			ContentType: eff.ContentType, Consumer: eff.Consumer, Extension: cons}}, nil
}

func (f *dlqFlags) logger(e *runEnv) *slog.Logger {
	ef := endpointFlags{verbose: f.verbose}
	return ef.logger(e)
}

// checkClaimGroup refuses, before a claiming cursor opens, a Kafka
// --group that is the binding's own consumer group: the cursor would join
// it as a member, making the running app's group rebalance and handing it
// the dead-letter topic's partitions.
func (t *dlqTarget) checkClaimGroup() error {
	if t.typ != kafka.Type || t.open.Group == "" || !strings.EqualFold(t.open.Group, t.spec.Group) {
		return nil
	}
	_ = t.binder.Close(context.Background())
	return failed(fmt.Errorf("--group %s is the consumer group of %s: a replay or purge joins its --group as a member, which would rebalance the running app's group; name a group of its own for what dlq removes (default %s)",
		t.open.Group, t.src, kafka.DefaultDeadLetterGroup))
}

// withCursor opens the dead letters, runs fn and closes both the cursor
// and the binder.
func (t *dlqTarget) withCursor(ctx context.Context, fn func(stream.DeadLetters) error) error {
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = t.binder.Close(cctx)
	}()
	var cur stream.DeadLetters
	err := t.connect.open(ctx, t.notice, func(ctx context.Context) (err error) {
		cur, err = t.store.OpenDeadLetters(ctx, t.spec, t.open)
		return err
	})
	if errors.Is(err, stream.ErrNoDeadLetters) {
		// Not "0 dead letters": a queue that is not there is as often one
		// looked for on the wrong broker, vhost or prefix as one never
		// created.
		return fmt.Errorf("%s: its dead-letter destination %s does not exist (%w): the app has not created it yet (the binding never ran with dlq, or nothing was dead-lettered), or this configuration connects elsewhere than the app does (broker, vhost, key prefix)",
			t.src, t.where, err)
	}
	if err != nil {
		return err
	}
	err = fn(cur)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return errors.Join(err, cur.Close(cctx))
}

// purgeBatch is how many dead letters purge reads, and removes, at once
// from a cursor that batches (stream.DeadLetterBatcher).
const purgeBatch = 256

// nextDeadLetters reads the next dead letters of cur: up to max at once
// where cur batches (and --limit, limit, leaves room for more than one
// beyond the taken ones), else one.
func nextDeadLetters(ctx context.Context, cur stream.DeadLetters, batcher stream.DeadLetterBatcher, max, limit, taken int) ([]stream.DeadLetter, error) {
	if limit > 0 {
		max = min(max, limit-taken)
	}
	if batcher != nil && max > 1 {
		return batcher.NextBatch(ctx, max)
	}
	d, err := cur.Next(ctx)
	if err != nil {
		return nil, err
	}
	return []stream.DeadLetter{d}, nil
}

// removeDeadLetters removes ds from cur (at once where it batches): nil,
// or one error per dead letter, nil for those removed.
func removeDeadLetters(ctx context.Context, cur stream.DeadLetters, batcher stream.DeadLetterBatcher, ds []stream.DeadLetter) []error {
	if batcher != nil && len(ds) > 1 {
		return batcher.RemoveBatch(ctx, ds)
	}
	var errs []error
	for i, d := range ds {
		if err := cur.Remove(ctx, d); err != nil {
			if errs == nil {
				errs = make([]error, len(ds))
			}
			errs[i] = err
			if !errors.Is(err, stream.ErrClaimLost) {
				// One at a time, as before: the rest are not tried.
				for k := i + 1; k < len(ds); k++ {
					errs[k] = fmt.Errorf("dead letter %s not purged: %w", ds[k].ID, err)
				}
				return errs
			}
		}
	}
	return errs
}

// purgeRounds bounds how often purge reads again the dead letters whose
// claims it lost while removing them (see purge).
const purgeRounds = 8

// filterFlags select dead letters.
type filterFlags struct {
	headers      []string
	exception    string
	since, until string
	limit        int

	hdr      map[string]string
	from, to time.Time
}

func (ff *filterFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&ff.headers, "header", nil, "only dead letters with this header k=v (repeatable: all must match)")
	cmd.Flags().StringVar(&ff.exception, "exception", "", "only dead letters whose x-exception-message contains this text")
	cmd.Flags().StringVar(&ff.since, "since", "", "only dead letters dead-lettered at or after this time (RFC 3339, or a duration ago: 2h)")
	cmd.Flags().StringVar(&ff.until, "until", "", "only dead letters dead-lettered before this time (RFC 3339, or a duration ago)")
	cmd.Flags().IntVar(&ff.limit, "limit", 0, "at most this many dead letters (0: all)")
}

func (ff *filterFlags) check(now time.Time) error {
	ff.hdr = map[string]string{}
	for _, h := range ff.headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return usage("--header: want k=v, got %q", h)
		}
		ff.hdr[strings.TrimSpace(k)] = v
	}
	var err error
	if ff.from, err = parseWhen(ff.since, now); err != nil {
		return usage("--since: %v", err)
	}
	if ff.from.After(now) {
		// A --since in the future matches nothing; it is a typo (-2h), not
		// a filter.
		return usage("--since: %s is in the future", ff.from.Format(time.RFC3339))
	}
	if ff.to, err = parseWhen(ff.until, now); err != nil {
		return usage("--until: %v", err)
	}
	if ff.limit < 0 {
		return usage("--limit must not be negative")
	}
	return nil
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("a duration ago must not be negative, got %q", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time (2026-12-01T05:00:00Z) or a duration (2h), got %q", s)
	}
	return t, nil
}

// match reports whether d passes the filters. A dead letter whose time the
// broker does not tell never passes a time filter: untimed reports that
// this, and only this, kept it out (the summary counts those, so that a
// time filter that matches nothing for want of times says so).
func (ff *filterFlags) match(d stream.DeadLetter) (ok, untimed bool) {
	for k, v := range ff.hdr {
		if got, ok := d.Headers[k]; !ok || got != v {
			return false, false
		}
	}
	if ff.exception != "" && !strings.Contains(d.Headers[stream.HeaderExceptionMessage], ff.exception) {
		return false, false
	}
	if ff.from.IsZero() && ff.to.IsZero() {
		return true, false
	}
	if d.Time.IsZero() {
		return false, true
	}
	if !ff.from.IsZero() && d.Time.Before(ff.from) {
		return false, false
	}
	if !ff.to.IsZero() && !d.Time.Before(ff.to) {
		return false, false
	}
	return true, false
}

// untimedNote is the summary's note on the dead letters that a time
// filter could not match because the broker does not tell their time; ""
// when there are none.
func (ff *filterFlags) untimedNote(n int) string {
	if n == 0 {
		return ""
	}
	var flags []string
	if ff.since != "" {
		flags = append(flags, "--since")
	}
	if ff.until != "" {
		flags = append(flags, "--until")
	}
	have := "have"
	if n == 1 {
		have = "has"
	}
	return fmt.Sprintf("; %d %s no time and %s not matched by %s", n, have, map[bool]string{true: "was", false: "were"}[n == 1], strings.Join(flags, "/"))
}

// progress prints a counter on stderr when it is a terminal.
type progress struct {
	on   bool
	e    *runEnv
	verb string
	last time.Time
}

func newProgress(e *runEnv, verb string) *progress {
	return &progress{on: isTerminal(e.stderr), e: e, verb: verb}
}

func (p *progress) update(n int, force bool) {
	if !p.on || (!force && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.e.stderr, "\r%s %d", p.verb, n)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprintln(p.e.stderr)
	}
}

func newDLQCmd(e *runEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "List, show, replay and purge a binding's dead letters",
		Long: `dlq works on the dead letters of a consumer binding (--binding NAME,
a binding with a group and consumer.dlq: true, or a binding with
consumer.dead-letters-of, meaning the binding it reads), found where the
binder of the service's configuration keeps them (PATH or --config, --profile,
environment, placeholders): the topic error.<destination>.<group> on
Kafka, the queue <prefix><destination>.<group>.dlq on RabbitMQ (prefix:
the binding's, SCSt's, default none), the subject
error.<destination>.<group> in its stream on NATS, the stream
error.<destination>.<group> on Redis (dlq-name overrides the name on Kafka,
NATS and Redis, dead-letter-queue-name on RabbitMQ), the destination
error.<destination>.<group> in process. An anonymous RabbitMQ consumer
(no group) with dlq has no DLQ: its dead letters go to the DLX with its
dead-letter routing key, to the queues you bound there, which dlq does
not read (it says where they go; tail --exchange DLX --routing-key KEY
prints them as they arrive).

  ls       dead letters grouped by x-exception-message (--by pattern:
           with IDs masked; --by type: x-exception-fqcn), the largest
           groups first, with counts and first and last times; reads,
           never removes or reorders
  show N   the N-th dead letter (1 = oldest) with its headers and payload
  replay   sends dead letters back to their destination (or --to) and
           removes each once the broker confirmed its copy
  purge    removes dead letters, after a confirmation

The binder of a binding that names none is --binder, else
stream.default-binder, else the one binder declared under stream.binders
that is a default candidate (default-candidate not false); when none of
them decides (the app's code does, by the one binder type it
registers), dlq stops with exit status 2: pass --binder. So does a
--binding that is not a consumer binding of the configuration (the error
lists those it has, and names the one likely meant).

On RabbitMQ a binding with consumer.dead-letters-of consumes the DLQ queue
itself (its configured group is not used; lint warns): while it runs it
competes with dlq for the same dead letters, and ls notes the queue's
consumers. On Kafka, NATS and Redis such a reader is a group of its own
and takes nothing from dlq.

On RabbitMQ dlq reads by consuming the DLQ and gives back what it did not
remove; a quorum DLQ (dlq-quorum) counts that as a delivery and drops a
dead letter past its delivery limit. So dlq (ls and show too) replaces
each dead letter it would give back at the limit (dlq-quorum.delivery-limit,
else 20) by an identical copy at the queue's tail, and says so (WARN): no
dead letter is lost, but those are moved.

Binders: kafka, rabbit, nats, redis, and the in-process binder through the
library (it lives inside one process). A Kafka topic keeps its records: there a dead
letter is removed by committing the group streambind-dlq (--group) past it;
those removed behind one that is kept are listed in the commit's metadata.
The topic is read committed: of a topic written in transactions (a Java
service with transaction-id-prefix sends its dead letters in them) only the
committed dead letters are listed and replayed, never a transaction marker
or a record of an aborted transaction, and the commits move past those.

` + connectHelp,
		Example: `  streambind dlq ls --profile rabbit --binding chargePayment-in-0
  streambind dlq show 3 --profile rabbit --binding chargePayment-in-0
  streambind dlq replay --profile rabbit --binding chargePayment-in-0 --exception 'card declined' --rate 50
  streambind dlq purge --profile rabbit --binding chargePayment-in-0 --until 24h --yes`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				// A PATH goes after the subcommand (dlq ls PATH), as the
				// service's directory goes to lint and config.
				if strings.ContainsAny(args[0], "./\\") {
					return usage("dlq %s: the subcommand comes first (ls, show, replay, purge): streambind dlq ls %s --binding NAME", args[0], args[0])
				}
				return usage("dlq: unknown subcommand %q (ls, show, replay, purge)", args[0])
			}
			cmd.SetOut(e.stderr)
			_ = cmd.Help()
			return silent(exitUsage)
		},
	}
	cmd.AddCommand(newDLQLsCmd(e), newDLQShowCmd(e), newDLQReplayCmd(e), newDLQPurgeCmd(e))
	return cmd
}

func newDLQLsCmd(e *runEnv) *cobra.Command {
	var f dlqFlags
	var format, by string
	var top int
	cmd := &cobra.Command{
		Use:   "ls [PATH]",
		Short: "Count a binding's dead letters by exception message, pattern or type",
		Long: `ls reads the dead letters that are there when it starts (not those that
arrive meanwhile) and prints one line per group: how many, and when the
first and the last were dead-lettered ("-" where the broker does not
tell), the most frequent first. It removes nothing and leaves the dead
letters in their order.

--by says what makes a group:

  message  the x-exception-message as it is (the default)
  pattern  the x-exception-message with each word that holds a digit
           replaced by #: "order 12345 not found" and "order o-124 not
           found" are one group, "order # not found"; a word of at
           most three digits and nothing else stays, so "status 404"
           and "status 503" (HTTP statuses, attempts, counts) are two
           groups, while longer numbers, UUIDs, hosts and words mixing
           digits and letters are IDs
  type     the x-exception-fqcn: the exception's class (a Java
           service's), or a Go service's error type or the name it
           registered (stream.WithNamedError)

With pattern and type each line also tells how many distinct messages
the group holds (MESSAGES) and the first one's text (SAMPLE); a Go
service's errors made by errors.New or fmt.Errorf share one type
(*errors.errorString, the innermost error's), so pattern tells them apart
better there.

--top N lists the N largest groups (default 20; 0: all) and then one line
"... K more groups (M dead letters)". --format json prints {"binding",
"destination", "total", "by", "groups" (how many), "exceptions": [...],
"more": {"groups", "deadLetters"} when --top left some out}, every group
unless --top is given; an exception is {"exception", "count", "first",
"last"}, with pattern and type {"pattern" or "type", "count", "messages",
"sample", "first", "last"}. --exception TEXT of replay and purge matches
the message itself: take the words of a SAMPLE, not a pattern's #.`,
		Example: `  streambind dlq ls --profile rabbit --binding chargePayment-in-0
  streambind dlq ls --profile rabbit --binding chargePayment-in-0 --by pattern
  streambind dlq ls --profile kafka --binding chargePayment-in-0 --by type --top 5
  streambind dlq ls --binding auditDeadLetters-in-0 --format json | jq .total
  streambind dlq ls services/orders --binding chargePayment-in-0`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usage("--format: want text or json, got %q", format)
			}
			if by != byMessage && by != byPattern && by != byType {
				return usage("--by: want message, pattern or type, got %q", by)
			}
			if top < 0 {
				return usage("--top must not be negative (0: all)")
			}
			if format == "json" && !cmd.Flags().Changed("top") {
				top = 0 // a script gets every group unless it asks
			}
			if err := f.takePath(cmd, args); err != nil {
				return err
			}
			t, err := f.resolve(cmd, e)
			if err != nil {
				return err
			}
			groups := newLsGroups(by)
			pr := newProgress(e, "read")
			err = t.withCursor(cmd.Context(), func(cur stream.DeadLetters) error {
				// RabbitMQ: a queue's consumers compete, and a reader
				// (consumer.dead-letters-of) consumes the DLQ itself.
				if cc, ok := cur.(interface{ Consumers() int }); ok && cc.Consumers() > 0 {
					n := cc.Consumers()
					fmt.Fprintf(e.stderr, "note: %d consumer%s attached to %s (a dead-letter reader, consumer.dead-letters-of, consumes that queue itself): %s may be taking the dead letters, and those delivered to %s and not yet acknowledged are not counted\n",
						n, map[bool]string{true: " is", false: "s are"}[n == 1], t.where, map[bool]string{true: "it", false: "they"}[n == 1], map[bool]string{true: "it", false: "them"}[n == 1])
				}
				// Many per round trip where the cursor batches (NATS,
				// Redis, RabbitMQ).
				batcher, _ := cur.(stream.DeadLetterBatcher)
				var ds []stream.DeadLetter
				for {
					if len(ds) == 0 {
						var err error
						ds, err = nextDeadLetters(cmd.Context(), cur, batcher, purgeBatch, 0, 0)
						if err == io.EOF {
							return nil
						}
						if err != nil {
							return err
						}
					}
					d := ds[0]
					ds = ds[1:]
					groups.add(d)
					pr.update(groups.total, false)
				}
			})
			pr.done()
			if err != nil {
				return failed(err)
			}
			return groups.print(cmd.OutOrStdout(), format, t.src, t.where, top)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	cmd.Flags().StringVar(&by, "by", byMessage, "group by message (x-exception-message), pattern (the message with its IDs, words with a digit but for numbers of up to 3 digits, as #) or type (x-exception-fqcn)")
	cmd.Flags().IntVar(&top, "top", lsTopDefault, "list the N largest groups and count the rest (0: all; with --format json all unless given)")
	return cmd
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// oneLine is s as one line of a listing: white space collapsed, made
// printable (an exception message may hold terminal escapes or bytes that
// are not UTF-8) and cut to 200 bytes.
func oneLine(s string) string {
	s = printable(strings.Join(strings.Fields(s), " "))
	if s == "" {
		return "(none)"
	}
	return truncate(s, 200)
}

func newDLQShowCmd(e *runEnv) *cobra.Command {
	var f dlqFlags
	var id string
	var showSecrets bool
	cmd := &cobra.Command{
		Use:   "show [N] [PATH]",
		Short: "Print one dead letter with all its headers and its payload",
		Long: `show prints the N-th dead letter (1 = the oldest; default 1), or the one
whose id is --id, with every header, sorted, and the payload: JSON
indented, other text as it is, binary as a quoted string. A header value
that is not text is printed as base64:<base64>, except the big-endian
numbers Spring Cloud Stream's Kafka binder writes (x-original-partition,
-offset, -timestamp), printed as numbers. The value of a header whose
name names a secret, by the rule that hides such keys' values in the logs
and in streambind config (Authorization, Proxy-Authorization, x-api-key,
password, token, client-secret ...; not key, the partition key), is
printed as ****** unless --show-secrets; the payload is printed as it
is. It removes nothing. PATH (as
--config) follows N; a lone argument that is not a number is PATH.

The id (show's "id:", replay --dry-run's "would replay dead letter ID")
is the binder's: on Kafka <partition>/<offset>, on NATS the stream sequence, on
Redis the entry ID — each stays with its dead letter until it is removed.
A RabbitMQ queue numbers nothing: there the id is the position the command
read the dead letter at (1 = the queue's head), the same as N, so it
names another dead letter once one ahead of it left the queue (replayed,
purged, expired), and is good only within the command that printed it.
To pick one RabbitMQ dead letter across commands, use its message id, the
"id" header show prints (when it has one: streambind's producers give
every message one; the dead letter keeps the original's message_id, and
one of a message without it, a Java producer's, has none): replay and
purge with --header id=<it> take only the
dead letters with that id.`,
		Example: `  streambind dlq show --profile rabbit --binding chargePayment-in-0
  streambind dlq show 12 --profile rabbit --binding chargePayment-in-0`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 1
			if len(args) == 2 {
				if err := f.takePath(cmd, args[1:]); err != nil {
					return err
				}
				args = args[:1]
			} else if len(args) == 1 {
				if _, err := strconv.Atoi(args[0]); err != nil {
					if err := f.takePath(cmd, args); err != nil {
						return err
					}
					args = nil
				}
			}
			if len(args) == 1 {
				if id != "" {
					return usage("give N or --id, not both")
				}
				var err error
				if n, err = strconv.Atoi(args[0]); err != nil || n < 1 {
					return usage("N: want a position from 1, got %q", args[0])
				}
			}
			t, err := f.resolve(cmd, e)
			if err != nil {
				return err
			}
			var found *stream.DeadLetter
			seen := 0
			err = t.withCursor(cmd.Context(), func(cur stream.DeadLetters) error {
				for {
					d, err := cur.Next(cmd.Context())
					if err == io.EOF {
						return nil
					}
					if err != nil {
						return err
					}
					seen++
					if (id != "" && d.ID == id) || (id == "" && seen == n) {
						found = &d
						return nil
					}
				}
			})
			if err != nil {
				return failed(err)
			}
			if found == nil {
				if id != "" {
					return failed(fmt.Errorf("no dead letter with id %s among the %d of %s", id, seen, t.where))
				}
				return failed(fmt.Errorf("no dead letter %d: %s holds %d", n, t.where, seen))
			}
			printDeadLetter(cmd.OutOrStdout(), seen, *found, showSecrets)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&id, "id", "", "the dead letter with this id")
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, showSecretsHelp)
	return cmd
}

// printDeadLetter prints dead letter d, read at position pos, as show
// does; the values of secret headers (secretHeader) as redact.Redacted
// unless reveal.
func printDeadLetter(w io.Writer, pos int, d stream.DeadLetter, reveal bool) {
	fmt.Fprintf(w, "position: %d\nid: %s\ntime: %s\nheaders:\n", pos, d.ID, when(d.Time))
	keys := make([]string, 0, len(d.Headers))
	for k := range d.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := headerText(k, d.Headers[k])
		if !reveal && secretHeader(k) {
			v = redact.Redacted
		}
		if strings.Contains(v, "\n") {
			fmt.Fprintf(w, "  %s: |\n", printable(k))
			for _, l := range strings.Split(v, "\n") {
				fmt.Fprintf(w, "    %s\n", l)
			}
			continue
		}
		fmt.Fprintf(w, "  %s: %s\n", printable(k), v)
	}
	if len(d.Key) > 0 {
		fmt.Fprintf(w, "key: %q\n", d.Key)
	}
	fmt.Fprintf(w, "payload (%d bytes):\n%s\n", len(d.Payload), prettyPayload(d.Payload))
}

// prettyPayload is a payload as show prints it. JSON is indented as it is
// written (json.Indent: decoding it would round big numbers,
// 12345678901234567891 to 12345678901234567000, drop repeated keys and
// sort the others); other text as it is; anything else quoted.
func prettyPayload(p []byte) string {
	if json.Valid(p) {
		var b bytes.Buffer
		if json.Indent(&b, bytes.TrimSpace(p), "", "  ") == nil {
			// A JSON string may hold C1 controls unescaped.
			return printableLines(b.String())
		}
	}
	s := string(p)
	if !binaryHeaderValue(s) {
		return s
	}
	return strconv.Quote(s)
}

// printableLines is printable line by line: the line breaks stay.
func printableLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = printable(l)
	}
	return strings.Join(lines, "\n")
}

func newDLQReplayCmd(e *runEnv) *cobra.Command {
	var f dlqFlags
	var ff filterFlags
	var to, toExchange, toQueue string
	var rate float64
	var dryRun bool
	var maxReplays int
	var lease leaseFlag
	cmd := &cobra.Command{
		Use:   "replay [PATH]",
		Short: "Send dead letters back to their destination, removing each once its copy is confirmed",
		Long: `replay sends the dead letters that match the filters (all, by default)
back to where they came from, the binding's destination (or --to), and
removes each from the dead letters once the broker confirmed its copy: a
replay that is interrupted (even killed) loses nothing, and replays again
at most the dead letters it had in flight, their copies sent (and maybe
confirmed) but the dead letters not yet removed: one in process, up to
128 on Kafka, NATS, Redis and RabbitMQ. An interrupt (Ctrl-C,
SIGTERM) gives the copies in flight up to 5s to be confirmed, and removes
their dead letters before the replay exits: none is replayed again while
the broker answers; it prints its summary (what it replayed) and exits
with status 1, "interrupted". On a terminal, stderr shows a running
count of what was replayed. There a replay works a batch
at a time: it reads and claims up to 128 dead letters at once, sends
their copies at once and removes them once every copy of the batch was
confirmed. The copies of dead letters of one key (else of one partition,
scst_partition) are sent one after the other, in the dead letters'
order; those of dead letters without either may be stored in another
order within a batch. A copy that fails stops the replay: the others of
its batch are removed once confirmed, it stays, and so do those not read
yet (and the dead letters of its key after it, not sent); the error names
it. An interrupted replay (Ctrl-C) removes what was confirmed before it
exits.

The copy has the dead letter's original headers and payload, without the
headers dead-lettering added (x-exception-*, x-original-*,
x-streambind-truncated) and RabbitMQ's delivery counts (x-delivery-count,
x-acquired-count: the copy is delivered 0 times), with
x-streambind-replay-count one higher and a
new id (NATS would drop a copy with the original's id as a duplicate);
x-streambind-replayed-id names the original message's id, also on the
copy of an earlier copy's dead letter. The idempotent consumer's default
key (consumer.idempotency) reads it first, so the copies of one message
are one message to it (a replay is at least once: one interrupted after
a copy's send, before the dead letter's removal, sends it again). On
RabbitMQ the copy's headers
keep their AMQP types (an int stays an int, x-death an array the broker
counts on). A dead
letter already replayed --max-replays times is skipped (it stays, and a
note says so), so that a message that keeps failing cannot loop through
replay for ever. So is a headers-only dead letter, whose payload was
dropped to fit the dead-letter queue's limit (x-streambind-payload-size):
its copy would be an empty message, not the original, which its
x-original-* headers locate. A dead letter whose key was dropped to fit
(x-streambind-key-size; RabbitMQ, where the key is a header) is
replayed without it, with a note: its copy may go to another partition
than the key's other messages. Such notes, one per dead letter, are
printed for the first 10 of each kind (skipped for --max-replays,
headers-only, without their key, taken over by another replay), then one
line that says the rest are not listed; the summary counts them all
("N skipped: replayed M times or more already (--max-replays)").

The exit status is 0 when the replay ran to its end, also when dead
letters were skipped (--max-replays, headers-only), left to another
replay or purge, or did not match the filters: they stay, and only the
summary line on stdout tells (there is no --json); a script that must
know reads it, "replayed N dead letters of B; U did not match the
filters; S skipped: ...", S above 0 meaning that some were skipped for
--max-replays, and "streambind dlq ls" lists what stays. It is 1 when a
copy failed or could not be sent (a target exchange that does not
exist) or the replay was interrupted (the summary still says what was
replayed), or nothing could be read (no summary), and 2 for bad usage.

Which groups handle a copy depends on the binder, and a note on stderr
says it before the first copy (and before a --dry-run's first line),
naming the destination. On NATS and Redis a replay to the binding's own
destination is for the binding's group only: each copy carries
x-streambind-replay-group: <group>, and the consumers of the
destination's other groups (and anonymous ones) acknowledge it without
handling it: the group's instances running meanwhile handle it, the
other groups' do not (instances built before this header existed handle
it as well); --to another
destination goes to every group of that one, without the header. On
RabbitMQ a copy sent to the destination's exchange reaches every group's
queue bound to it, not only the binding's: --to-queue sends it to the
binding's group's queue only. On Kafka every group of the topic reads
each copy, and no option confines a replay to one group.

Replays (and purges) of a binding's dead letters may run at once (two
terminals, a retried job): each dead letter goes to one of them. Order
per key holds within one replay only: two at once share a key's dead
letters and send them side by side. A replay
claims each dead letter it reads: on Kafka by joining the group
streambind-dlq (--group), whose partitions go to one member each; on NATS
and Redis by a lease per dead letter (NATS: the key <stream>.<sequence> in
the key-value bucket streambind-dlq-claims; Redis: the key
<stream>:dlq-claim:<id>); on RabbitMQ the queue hands each to one
consumer. A claim lasts --lease (30s; on NATS a
lease other than 30s has a bucket of its own, streambind-dlq-claims-<ms>ms)
past the last renewal of the replay that holds it: the dead letters of a replay that was killed
are held for at most that long, and a replay that finds a dead letter held
by another waits that long at most for it (then leaves it, with a
warning); on Kafka a replay that joins waits that long at most for a
killed one's partitions (after 2s a note on stderr says what it waits
for, and for at most how long). On Kafka what was removed is the
--group's committed position: a --group that never committed on the
dead-letter topic counts every dead letter as not replayed, those
replayed with another group too, and ls, show, replay and purge warn
of it on stderr, naming the groups that have committed there (asked of
the brokers, while the --group has committed nothing, within 3s, 1s for
the default group, which is warned of only when another group has
committed; a lookup that fails is said in the warning, with its error).
A replay gives back at once what its filters or
--max-replays pass over (on NATS and Redis it does not claim it at all);
on Kafka, where the claim is a partition, it keeps its partitions until
it ends. Before it sends a copy it confirms its claim if it bound its
producer since it read the dead letter, or more than a tenth of --lease
passed since (a --rate wait; a claim lasts a lease from its read): a
dead letter whose claim it lost meanwhile (on Kafka a replay waiting for
its --rate holds up a rebalance, and is dropped from the group after
30s) is the other replay's to send, and a note says so. The summary
counts the dead letters left to another replay or purge. On NATS,
replay and purge need permission to create and write the key-value
bucket streambind-dlq-claims (the stream KV_streambind-dlq-claims), or
the one the binder's dlq-claim-bucket setting names. The first replay or
purge creates it (file storage, its max age the lease, 30s, so it holds
only live claims), and it is the account's, not a binding's: it stays,
empty, when the dead-letter streams are deleted (nats stream ls lists
it). Delete it with nats kv rm streambind-dlq-claims (and any
streambind-dlq-claims-<ms>ms) while no replay or purge runs; the next one
creates it again.

--to names a destination as the configuration does: on RabbitMQ the copies
go to the exchange <prefix><destination>, with the prefix of
stream.rabbit.default.producer.prefix (SCSt's), where send --destination
sends; --to-exchange NAME sends them to the RabbitMQ exchange NAME exactly,
no prefix applied. The binding's own destination has the binding's prefix,
the exchange its queue is bound to; for a partitioned binding with a group
each copy is routed as a partitioned producer routes,
<destination>-<scst_partition>, to its partition's queue (a dead letter
without scst_partition is unroutable). A replay declares no exchange: one
that does not exist (a mistyped --to) is an error naming it before any
copy is sent, the dead letters kept and nothing created (a passive
declaration checks it). A copy RabbitMQ returns unroutable (no
queue bound to that exchange for it) stops the replay, its dead letter
kept, with an error that says what to do.

--to-queue (RabbitMQ only) sends the copies to the queue the binding's
group consumes, and to no other group's: through the default exchange,
with the queue's name as routing key, as Spring Cloud Stream's RabbitMQ
dead-letter re-route does (rabbitTemplate.send(ORIGINAL_QUEUE, failed)).
The queue is named as the binding's consumer names it:
<prefix><destination>.<group>, or <prefix><group> with
queue-name-group-only. --to-queue=NAME (with the =) sends them to the
queue NAME exactly. Nothing is declared: a queue that
does not exist makes the copy unroutable, which stops the replay with its
dead letter kept. A partitioned binding's group has a queue per partition
(<queue>-<n>) and one dead-letter queue for them all: --to-queue alone is
refused there; replay one partition's with --header scst_partition=N
--to-queue=<queue>-N. --to-queue excludes --to and --to-exchange.

Filters: --header k=v (repeatable), --exception TEXT (in
x-exception-message), --since/--until (RFC 3339 or a duration ago; a dead
letter whose time the broker does not tell never matches them; the
summary counts those), --limit N (replay stops reading once N were
replayed: the summary then counts what did not match among the dead
letters read, "13 of the 18 read did not match the filters; reading
stopped at --limit 5").
--rate R sends at most R per second (0, the default: as fast as the broker
confirms; else between 0.001 and 1000000). --max-replays must be at
least 1. --dry-run prints what would be replayed and changes nothing.`,
		Example: `  streambind dlq replay --profile rabbit --binding chargePayment-in-0 --dry-run
  streambind dlq replay --profile rabbit --binding chargePayment-in-0 --exception timeout --since 1h --rate 100
  streambind dlq replay --profile rabbit --binding chargePayment-in-0 --header customerId=c-7 --to orders.retry`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ff.check(time.Now()); err != nil {
				return err
			}
			if err := f.takePath(cmd, args); err != nil {
				return err
			}
			if err := checkReplayFlags(rate, maxReplays); err != nil {
				return err
			}
			if err := lease.check(); err != nil {
				return err
			}
			if err := checkReplayTo(cmd, to, toExchange); err != nil {
				return err
			}
			if to != "" && toExchange != "" {
				return usage("--to and --to-exchange exclude each other")
			}
			if err := checkToQueue(e, cmd, args, toQueue, to, toExchange); err != nil {
				return err
			}
			t, err := f.resolve(cmd, e)
			if err != nil {
				return err
			}
			if toExchange != "" && t.typ != rabbit.Type {
				_ = t.binder.Close(cmd.Context())
				return usage("--to-exchange names a RabbitMQ exchange, but the binder is of type %s: use --to %s", t.typ, toExchange)
			}
			if err := checkReplayToLength(t.typ, to, toExchange); err != nil {
				_ = t.binder.Close(cmd.Context())
				return err
			}
			queue := ""
			if cmd.Flags().Changed("to-queue") {
				if queue, err = t.replayQueue(toQueue); err != nil {
					_ = t.binder.Close(cmd.Context())
					return err
				}
			}
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			producers := map[string]stream.Producer{}
			defer func() {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				for _, p := range producers {
					_ = p.Close(cctx)
				}
			}()
			var tick <-chan time.Time
			if rate > 0 {
				tk := time.NewTicker(time.Duration(float64(time.Second) / rate))
				defer tk.Stop()
				tick = tk.C
			}
			// A replay claims what it reads (a dry run only reads), so
			// that two at once, or one and a purge, never both take a
			// dead letter.
			t.open.Claim = !dryRun
			if t.open.Claim {
				t.open.Lease = lease.d
				if err := t.checkClaimGroup(); err != nil {
					return err
				}
			}
			// Not claimed at all where the binder can tell (NATS,
			// Redis): what the filters reject, so that this replay
			// neither holds nor waits for it.
			t.open.Want = func(d stream.DeadLetter) bool {
				ok, _ := ff.match(d)
				return ok && stream.ReplayCount(d.Headers) < maxReplays && !headersOnly(d)
			}
			pr := newProgress(e, "replayed")
			dest := to
			if toExchange != "" {
				dest = toExchange
			}
			if dest == "" {
				dest = t.spec.Destination
			}
			if queue != "" {
				dest = "queue " + queue
			}
			// Said once, before the first copy (or --dry-run line):
			// which groups of the destination get the copies.
			audience := onceNote(t.replayAudienceNotice(dest, toExchange != "", queue), func(format string, args ...any) { fmt.Fprintf(e.stderr, format, args...) })
			rp := &replayer{dest: dest, group: t.replayGroup(dest, toExchange != "", queue), dryRun: dryRun, maxReplays: maxReplays, limit: ff.limit, lease: lease.d, tick: tick,
				match: ff.match,
				producer: func(ctx context.Context, dest string) (stream.Producer, bool, error) {
					if p := producers[dest]; p != nil {
						return p, false, nil
					}
					if queue == "" {
						if err := t.checkReplayExchange(ctx, dest, toExchange != ""); err != nil {
							return nil, false, err
						}
					}
					audience()
					var p stream.Producer
					var err error
					if queue != "" {
						p, err = t.binder.(*rabbit.Binder).BindQueueProducer(ctx, stream.ProducerSpec{Binding: "streambind-dlq-replay", Destination: queue,
							ContentType: t.eff.ContentType, Logger: f.logger(e)}, queue)
					} else {
						p, err = t.binder.BindProducer(ctx, stream.ProducerSpec{Binding: "streambind-dlq-replay", Destination: dest,
							ContentType: t.eff.ContentType, Logger: f.logger(e), Extension: t.replayExtension(dest, toExchange != ""),
							Producer: t.replayProducer(dest, toExchange != "")})
					}
					if err != nil {
						return nil, false, fmt.Errorf("bind a producer to %s: %w", dest, err)
					}
					producers[dest] = p
					return p, true, nil
				},
				note: func(format string, args ...any) { fmt.Fprintf(e.stderr, format, args...) },
				dry: func(d stream.DeadLetter) {
					audience()
					fmt.Fprintf(out, "would replay dead letter %s to %s: %s\n", d.ID, dest, oneLine(d.Headers[stream.HeaderExceptionMessage]))
				},
				progress: func(n int) { pr.update(n, false) },
			}
			opened := false
			err = t.withCursor(ctx, func(cur stream.DeadLetters) error {
				opened = true
				return rp.run(ctx, cur)
			})
			pr.done()
			if err != nil && !opened {
				// Nothing was read (the broker is out of reach): no summary
				// on stdout, where a script would read "replayed 0".
				return failed(err)
			}
			verb := "replayed"
			if dryRun {
				verb = "would replay"
			}
			// Stopped at --limit, the counts are of what was read before
			// it, not of all the dead letters: the summary says so.
			unmatched := fmt.Sprintf("%d did not match the filters", rp.skipped)
			if rp.atLimit {
				unmatched = fmt.Sprintf("%d of the %d read did not match the filters", rp.skipped, rp.read)
			}
			unmatched += ff.untimedNote(rp.untimed)
			if rp.atLimit {
				unmatched += fmt.Sprintf("; reading stopped at --limit %d (the dead letters after those were not read)", ff.limit)
			}
			fmt.Fprintf(out, "%s %d dead letter%s of %s; %s; %d skipped: replayed %d time%s or more already (--max-replays)%s%s%s\n",
				verb, rp.replayed, plural(rp.replayed), t.src, unmatched, rp.looped, maxReplays, plural(maxReplays), payloadlessNote(rp.payloadless), keylessNote(rp.keyless), heldNote(rp.elsewhere, rp.lost))
			if err != nil && queue != "" && errors.Is(err, rabbit.ErrUnroutable) {
				return failed(fmt.Errorf("%w; no queue %s exists in the virtual host (the default exchange routes a copy to the queue of its routing key only): %s", err, queue, replayQueueUnroutableRemedy))
			}
			if err != nil {
				return failed(unroutableHint(err, replayUnroutableRemedy))
			}
			return nil
		},
	}
	f.add(cmd)
	ff.add(cmd)
	cmd.Flags().StringVar(&to, "to", "", "replay to this destination instead of the binding's, named as in the configuration (on RabbitMQ stream.rabbit.default.producer.prefix applies, as to send --destination)")
	cmd.Flags().StringVar(&toExchange, "to-exchange", "", "RabbitMQ: replay to this exchange, exactly as named (no prefix applied)")
	cmd.Flags().StringVar(&toQueue, "to-queue", "", "RabbitMQ: replay to the binding's own group's queue only (not to every group of the destination), through the default exchange; --to-queue=`NAME`: to the queue NAME exactly")
	cmd.Flags().Lookup("to-queue").NoOptDefVal = ownQueue
	cmd.Flags().Float64Var(&rate, "rate", 0, "at most this many messages per second, 0.001 to 1000000 (0: as fast as the broker confirms)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be replayed; change nothing")
	cmd.Flags().IntVar(&maxReplays, "max-replays", 3, "skip dead letters whose x-streambind-replay-count is this or more (at least 1)")
	lease.add(cmd)
	return cmd
}

// maxExchangeName is the longest name AMQP 0-9-1 carries (a shortstr);
// a longer one makes the broker close the connection.
const maxExchangeName = 255

// checkReplayTo checks replay's --to and --to-exchange before the
// configuration is read: given, each names something (an empty value was
// read as not given, and the copies went to the binding's own exchange,
// to every group). Their length is checked once the binder's type is
// known (checkReplayToLength).
func checkReplayTo(cmd *cobra.Command, to, toExchange string) error {
	for _, fl := range []struct{ name, val string }{{"to", to}, {"to-exchange", toExchange}} {
		if !cmd.Flags().Changed(fl.name) {
			continue
		}
		if fl.val == "" {
			return usage("--%s names no destination: give a name, or leave --%s out to replay to the binding's own destination (the AMQP default exchange \"\" is not a replay target; --to-queue sends the copies to one queue)", fl.name, fl.name)
		}
	}
	return nil
}

// checkReplayToLength fails when replay's --to or --to-exchange is longer
// than a RabbitMQ exchange name can be (an AMQP shortstr: a longer one
// dropped the publisher's connection). Other binders' destinations (NATS
// subjects, Redis keys) may be longer: it checks only for binder type typ
// rabbit.
func checkReplayToLength(typ, to, toExchange string) error {
	if typ != rabbit.Type {
		return nil
	}
	for _, fl := range []struct{ name, val string }{{"to", to}, {"to-exchange", toExchange}} {
		if len(fl.val) > maxExchangeName {
			return usage("--%s: the name is %d bytes long; a RabbitMQ exchange name is at most %d bytes (an AMQP short string)", fl.name, len(fl.val), maxExchangeName)
		}
	}
	return nil
}

// ownQueue is --to-queue given without a value: the binding's group's
// queue.
const ownQueue = "(own)"

// replayQueueUnroutableRemedy is replay --to-queue's remedy for a copy
// returned unroutable: the queue does not exist.
const replayQueueUnroutableRemedy = "start the binding's service first (its consumer declares its group's queue), or name a queue that exists with --to-queue=NAME; the dead letter was kept"

// checkToQueue checks replay's --to-queue (toQueue) before the
// configuration is read: it excludes --to and --to-exchange, and a name
// is given with = (given apart, pflag takes it for the PATH argument:
// said when that PATH is no configuration).
func checkToQueue(e *runEnv, cmd *cobra.Command, args []string, toQueue, to, toExchange string) error {
	if !cmd.Flags().Changed("to-queue") {
		return nil
	}
	switch {
	case to != "" || toExchange != "":
		return usage("--to-queue excludes --to and --to-exchange: it sends the copies to one queue, not to a destination's exchange")
	case toQueue == "":
		return usage("--to-queue= names no queue: give --to-queue alone for the binding's group's queue, or --to-queue=NAME")
	case toQueue == ownQueue && len(args) == 1 && !isServicePath(e, args[0]):
		return usage("%q is not a service's configuration (a directory, or a .yaml, .yml or .properties file): to name a queue, write --to-queue=%s (a word after --to-queue is read as PATH)", args[0], args[0])
	}
	return nil
}

// replayQueue is the queue replay --to-queue sends the copies to: toQueue
// as named, or (ownQueue) the queue the binding's consumer consumes, named
// as the binder names it (rabbit.ConsumerQueues: prefix,
// queue-name-group-only). Only RabbitMQ has a queue per group; a
// partitioned binding's group has one per partition, and its dead letters
// of every partition are in one dead-letter queue: refused, saying how to
// replay one partition's.
func (t *dlqTarget) replayQueue(toQueue string) (string, error) {
	if t.typ != rabbit.Type {
		return "", usage("--to-queue is for RabbitMQ, where each group consumes a queue of its own; the binder of %s is of type %s, where the copies go to the destination (use --to to choose another)", t.src, t.typ)
	}
	if toQueue != ownQueue {
		return toQueue, nil
	}
	if t.spec.Group == "" {
		return "", failed(fmt.Errorf("--to-queue: %s has no group, so no queue of its own that outlives its consumer: name one with --to-queue=NAME", t.src))
	}
	spec := t.spec
	partitioned := spec.Consumer.Partitioned
	spec.Consumer.Partitioned = false
	qs, err := rabbit.ConsumerQueues(spec)
	if err != nil {
		return "", failed(err)
	}
	for _, q := range qs {
		if q.DLQ {
			continue
		}
		if partitioned {
			return "", usage("--to-queue: %[1]s is partitioned: its group %[2]s consumes a queue per partition (%[3]s-0, %[3]s-1, ...), and the dead letters of them all are in one dead-letter queue; replay one partition's at a time with --header scst_partition=N --to-queue=%[3]s-N", t.src, t.spec.Group, q.Name)
		}
		return q.Name, nil
	}
	return "", failed(fmt.Errorf("--to-queue: no queue found for %s", t.src))
}

// headersOnly reports whether d is a headers-only dead letter: its
// payload was dropped to fit the broker's limit (stream.FitDeadLetter),
// which x-streambind-payload-size records. Its replayed copy would be an
// empty message. The key may be left: RabbitMQ carries it as a header
// (x-streambind-key), which a headers-only dead letter keeps.
func headersOnly(d stream.DeadLetter) bool {
	_, dropped := d.Headers[stream.HeaderPayloadSize]
	return dropped && len(d.Payload) == 0
}

// payloadlessNote is the summary's note on the headers-only dead letters
// a replay skipped; "" when none.
func payloadlessNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; %d without payload (headers-only), not replayed", n)
}

// keylessNote is the summary's note on the copies replayed without the
// key their dead letter lost to the dead-letter queue's limit
// (x-streambind-key-size); "" when none.
func keylessNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; %d of them without the key dropped to fit the dead-letter queue (x-streambind-key-size)", n)
}

// leaseFlag is --lease of replay and purge: how long a dead letter this
// run claimed stays reserved for it should the run die
// ([stream.DeadLetterOpen.Lease]; on Kafka the group's session timeout).
type leaseFlag struct{ d time.Duration }

// The bounds of --lease: Kafka's group.min.session.timeout.ms and
// group.max.session.timeout.ms defaults, which a Kafka dead-letter group
// must fit; the same for every binder, so that a flag means the same
// everywhere.
const (
	minLease = 6 * time.Second
	maxLease = 30 * time.Minute
)

func (l *leaseFlag) add(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&l.d, "lease", stream.DefaultDeadLetterLease,
		"how long a dead letter this run claimed stays reserved for it if the run dies (6s to 30m; on Kafka the group's session timeout): another replay or purge waits at most this long for a killed run's dead letters")
}

func (l *leaseFlag) check() error {
	if l.d < minLease || l.d > maxLease {
		return usage("--lease: want %s to %s, got %s", minLease, maxLease, l.d)
	}
	return nil
}

// heldNote is the summary's note on the dead letters a replay or purge
// left to another one running at once: those another held when this one
// came to them (at most, on Kafka: the other members' partitions), and
// those whose claim this one lost before it sent their copy; "" when none.
func heldNote(elsewhere, lost int) string {
	s := ""
	if elsewhere > 0 {
		s += fmt.Sprintf("; %d held by another replay or purge, left to it", elsewhere)
	}
	if lost > 0 {
		s += fmt.Sprintf("; %d taken over by another replay or purge before this one got to %s", lost, map[bool]string{true: "it", false: "them"}[lost == 1])
	}
	return s
}

// The bounds of replay's --rate: below minReplayRate the interval between
// sends (over 16 minutes) is surely a typo, and above maxReplayRate it is
// under a microsecond, which no broker confirms at; 1/rate must also stay a
// positive time.Duration for time.NewTicker.
const (
	minReplayRate = 0.001
	maxReplayRate = 1e6
)

// checkReplayFlags validates replay's --rate and --max-replays.
func checkReplayFlags(rate float64, maxReplays int) error {
	if math.IsNaN(rate) || math.IsInf(rate, 0) || rate < 0 || (rate != 0 && (rate < minReplayRate || rate > maxReplayRate)) {
		return usage("--rate: want 0 (unlimited) or a number of messages per second from %g to %g, got %v", minReplayRate, float64(maxReplayRate), rate)
	}
	if maxReplays < 1 {
		// 0 would skip every dead letter (each has been replayed 0 times or
		// more): nothing to replay is never what was meant.
		return usage("--max-replays: want at least 1, got %d", maxReplays)
	}
	return nil
}

func newDLQPurgeCmd(e *runEnv) *cobra.Command {
	var f dlqFlags
	var ff filterFlags
	var yes bool
	var lease leaseFlag
	cmd := &cobra.Command{
		Use:   "purge [PATH]",
		Short: "Remove dead letters, after a confirmation",
		Long: `purge removes the dead letters that match the filters (all, by default;
the filters are replay's: --header, --exception, --since, --until,
--limit). It counts them first and asks for a "y" on stdin; --yes skips
the question (scripts). Any other answer removes nothing, prints "nothing
purged" and exits with status 0 (declining is not a failure); no answer
at all (stdin ends first: /dev/null, a script without --yes) removes
nothing, says to pass --yes, and exits with status 2; an interrupt at
the question (Ctrl-C, SIGTERM) removes nothing, says "interrupted", and
exits with status 1, as an interrupted replay does. What it
does not remove stays in its order. A dead letter whose time the broker
does not tell never matches --since/--until; the summary counts those.
Like replay, purge claims what it reads (until it removes it, or exits):
a replay running meanwhile does not replay a dead letter purge holds, and
two purges do not both count one. Claims lost while purge waited (the
question outlasted --lease, or on Kafka a rebalance) are read again (up
to 8 times): the dead letters that came back to it are removed, those
another replay or purge holds are left to it.`,
		Example: `  streambind dlq purge --profile rabbit --binding chargePayment-in-0
  streambind dlq purge --profile rabbit --binding chargePayment-in-0 --exception 'invalid character' --yes`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ff.check(time.Now()); err != nil {
				return err
			}
			if err := lease.check(); err != nil {
				return err
			}
			if err := f.takePath(cmd, args); err != nil {
				return err
			}
			t, err := f.resolve(cmd, e)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			t.open.Claim = true // as replay: no dead letter both purged and replayed
			t.open.Lease = lease.d
			if err := t.checkClaimGroup(); err != nil {
				return err
			}
			t.open.Want = func(d stream.DeadLetter) bool { ok, _ := ff.match(d); return ok }
			removed, untimed, lost, elsewhere := 0, 0, 0, 0
			declined, unanswered, interrupted := false, false, false
			pr := newProgress(e, "purged")
			opened := false
			err = t.withCursor(ctx, func(cur stream.DeadLetters) error {
				opened = true
				// Rounds: the dead letters whose claims a rebalance took
				// while this purge removed (Kafka) are read again, and
				// removed if they came back to it — only those the first
				// round read, which the question (or --yes) was about;
				// those another replay or purge holds stay its own. A
				// round that loses no claim, or reads nothing, ends it;
				// so does the purgeRounds-th (members that keep joining
				// and leaving).
				var taken []string // notes of the last round's lost claims
				var confirmed map[string]bool
				defer func() {
					// The first maxNotes name dead letters; the summary
					// counts them all (a rebalance may take a batch).
					for _, n := range taken[:min(len(taken), maxNotes)] {
						fmt.Fprint(e.stderr, n)
					}
					if len(taken) > maxNotes {
						fmt.Fprintf(e.stderr, "note: more dead letters taken over by another replay or purge are not listed; the summary counts them\n")
					}
				}()
				batcher, _ := cur.(stream.DeadLetterBatcher)
				for round := 1; round <= purgeRounds; round++ {
					var doomed []stream.DeadLetter
					var ds []stream.DeadLetter // read, not yet looked at
					for ff.limit == 0 || removed+len(doomed) < ff.limit {
						if len(ds) == 0 {
							var err error
							ds, err = nextDeadLetters(ctx, cur, batcher, purgeBatch, ff.limit, removed+len(doomed))
							if err == io.EOF {
								elsewhere = cur.HeldElsewhere()
								break
							}
							if err != nil {
								return err
							}
						}
						d := ds[0]
						ds = ds[1:]
						ok, noTime := ff.match(d)
						if ok && (round == 1 || confirmed[d.ID]) {
							d.Payload = nil // not needed to remove it
							doomed = append(doomed, d)
							continue
						}
						if noTime && round == 1 {
							untimed++
						}
						// Given back at once: a replay that wants it must
						// not wait for this purge to exit.
						if err := cur.Release(ctx, d); err != nil {
							return err
						}
					}
					if len(doomed) == 0 {
						return nil
					}
					if round == 1 {
						// Later rounds remove only these: what the
						// question (or --yes) was about.
						confirmed = map[string]bool{}
						for _, d := range doomed {
							confirmed[d.ID] = true
						}
					}
					if !yes && round == 1 {
						fmt.Fprintf(e.stderr, "purge %d dead letter%s of %s from %s? [y/N] ", len(doomed), plural(len(doomed)), t.src, t.where)
						line, rerr := readAnswer(ctx, cmd.InOrStdin())
						if ctx.Err() != nil {
							// Ctrl-C or SIGTERM at the question (also
							// when stdin ended with it, its writer
							// interrupted too): not an answer.
							interrupted = true
							return nil
						}
						if rerr != nil && line == "" {
							// No answer at all (stdin at its end: /dev/null,
							// a script's closed pipe): not the user's
							// "no", a script that forgot --yes.
							unanswered = true
							return nil
						}
						if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
							declined = true
							return nil
						}
					}
					taken = nil
					for len(doomed) > 0 {
						batch := doomed[:min(len(doomed), purgeBatch)]
						doomed = doomed[len(batch):]
						errs := removeDeadLetters(ctx, cur, batcher, batch)
						var first error
						for i, d := range batch {
							var err error
							if errs != nil {
								err = errs[i]
							}
							if errors.Is(err, stream.ErrClaimLost) {
								// Held longer than its claim (the question
								// waited), or a rebalance: another replay or
								// purge may have it now.
								taken = append(taken, fmt.Sprintf("note: dead letter %s not purged: %v\n", d.ID, err))
								continue
							} else if err != nil {
								first = cmp.Or(first, err)
								continue
							}
							removed++
						}
						pr.update(removed, false)
						if first != nil {
							return first
						}
					}
					lost = len(taken)
					if lost == 0 {
						return nil
					}
				}
				return nil
			})
			pr.done()
			if err != nil && !opened {
				return failed(err) // nothing was read: no summary (see replay)
			}
			if interrupted && err == nil {
				fmt.Fprintln(e.stderr)
				// Status 1, as an interrupted replay's.
				return failed(errors.New("interrupted: nothing purged"))
			}
			if unanswered && err == nil {
				fmt.Fprintln(e.stderr)
				// Exit status 2, as a script that forgot --yes should
				// fail, but no usage error: the flags were right.
				return needsFlag("nothing purged: no answer on stdin (it ended before a line); to purge without the question, run it again with --yes")
			}
			if declined && err == nil {
				// The user's choice, not a failure: exit status 0.
				fmt.Fprintf(out, "nothing purged\n")
				return nil
			}
			fmt.Fprintf(out, "purged %d dead letter%s of %s%s%s\n", removed, plural(removed), t.src, ff.untimedNote(untimed), heldNote(elsewhere, lost))
			if err != nil {
				return failed(err)
			}
			return nil
		},
	}
	f.add(cmd)
	ff.add(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	lease.add(cmd)
	return cmd
}

// readAnswer reads a line of in, the answer to purge's question, until ctx
// ends (Ctrl-C, SIGTERM): a read of in cannot be interrupted, so it runs
// in a goroutine of its own, which a run that ends leaves blocked (the
// process exits), as send's reader of stdin.
func readAnswer(ctx context.Context, in io.Reader) (string, error) {
	type answer struct {
		line string
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(in).ReadString('\n')
		got <- answer{line, err}
	}()
	select {
	case a := <-got:
		return a.line, a.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// deadLetterSource returns where the dead letters of binding src are, as
// its binder says (a binder is created, without connecting, and closed),
// and src's effective configuration; false when that cannot be told (the
// app reports why).
func (s *service) deadLetterSource(src string) (stream.DeadLetterSource, stream.BindingConfig, bool) {
	cfg := s.loaded.Stream
	eff := cfg.Binding(src)
	if ownBinder(cfg, src) == "" {
		if n, _ := stream.DefaultBinderOf(cfg, knownBinderTypes()); n == "" {
			return stream.DeadLetterSource{}, eff, false // the app's code chooses the binder
		}
	}
	typ := binderType(cfg, eff.Binder)
	f, ok := binderTypes()[typ]
	if !ok {
		return stream.DeadLetterSource{}, eff, false
	}
	// The settings the app gives the binder (inherited connection
	// defaults included), so that it names what the app's binder names.
	settings := stream.BinderSettingsOf(cfg, eff.Binder)
	settings.Type, settings.Logger = typ, slog.New(slog.DiscardHandler)
	ctx := context.Background()
	b, err := f(ctx, settings)
	if err != nil {
		// The names do not depend on the files the settings name (a TLS
		// CA file, say, absent where lint runs): without them, as lint
		// checks bindings (check.go). The binder only names; it is closed
		// unused.
		settings.SkipFiles = true
		if b, err = f(ctx, settings); err != nil {
			return stream.DeadLetterSource{}, eff, false
		}
	}
	defer func() { _ = b.Close(ctx) }()
	ds, eff, err := stream.DeadLetterSourceOf(cfg, b, typ, src, "")
	return ds, eff, err == nil
}

// anonymousRabbitDeadLetters is the error of streambind dlq for src, an
// anonymous RabbitMQ consumer binding with dlq (--binding flag): it has
// no DLQ, as in SCSt, but its dead letters are not gone, as an anonymous
// consumer's are on the other binders: they are republished to the DLX
// with the queue's dead-letter routing key, to the queues the user bound
// there with it. The error says where (the DLX, the key), how to make the
// key a fixed one (the default is the anonymous queue's name, new at every
// start), and that tail --exchange --routing-key reads them, as dlq,
// which has no option naming a queue, cannot. It said "an anonymous
// consumer has no dead letters", as on the other binders.
func anonymousRabbitDeadLetters(src, flag, dest string, cons map[string]any) error {
	prefix := topology.ExtString(cons, "prefix")
	dlx := topology.ExtString(cons, "dead-letter-exchange")
	if dlx == "" {
		dlx = prefix + rabbit.DLXName
	}
	key := topology.ExtString(cons, "dead-letter-routing-key")
	where := fmt.Sprintf("with routing key %q (its dead-letter-routing-key)", key)
	read := fmt.Sprintf("streambind tail --exchange %s --routing-key %s prints those that arrive while it runs", dlx, key)
	if key == "" {
		anon := topology.ExtString(cons, "anonymous-group-prefix")
		if anon == "" {
			anon = rabbit.DefaultAnonymousGroupPrefix
		}
		where = fmt.Sprintf("with routing key its queue's own name, %s%s.%s<id>, new at every start: set stream.rabbit.bindings.%s.consumer.dead-letter-routing-key to a fixed key", prefix, dest, anon, src)
		read = fmt.Sprintf("streambind tail --exchange %s --routing-key <that key> prints those that arrive while it runs", dlx)
	}
	return fmt.Errorf("--binding %s: binding %s has no group: an anonymous RabbitMQ consumer has no DLQ (as in SCSt); its dead letters go to the exchange %s %s, and from there to the queues you bind to %s with that key (streambind declares neither the exchange nor a queue for them; with none they are dropped). "+
		"streambind dlq reads only a group's DLQ: set the binding's group for one; %s",
		flag, src, dlx, where, dlx, read)
}
