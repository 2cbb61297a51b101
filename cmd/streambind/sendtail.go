package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/topology"
)

// endpointFlags select what send and tail talk to.
type endpointFlags struct {
	lf          loadFlags
	config      string
	binding     string
	destination string
	// exchange is --exchange: a RabbitMQ exchange named as it is, no
	// prefix applied.
	exchange string
	binder   string
	verbose  bool
	connect  connectFlag
}

func (f *endpointFlags) add(cmd *cobra.Command, what string) {
	f.lf.add(cmd)
	cmd.Flags().StringVar(&f.config, "config", ".", configFlagHelp)
	cmd.Flags().StringVar(&f.binding, "binding", "", what+" the destination of this binding, with its binder and settings")
	cmd.Flags().StringVar(&f.destination, "destination", "", what+" this destination (topic, exchange, subject), named as in the configuration: on RabbitMQ the configuration's default prefix applies, as to its bindings")
	cmd.Flags().StringVar(&f.exchange, "exchange", "", what+" this RabbitMQ exchange, exactly as named (no prefix applied)")
	cmd.Flags().StringVar(&f.binder, "binder", "", binderFlagHelp)
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "log what the binder does on stderr")
	f.connect.add(cmd)
}

// onlyOwnBindings leaves cfg, the service's configuration, binding
// nothing of the service's: no definition, routing (a routing expression
// binds functionRouter-in-0), input or output bindings, renames or
// configured bindings. send and tail then add the one binding they use;
// the binders and defaults stay.
func onlyOwnBindings(cfg *stream.Config) {
	cfg.Function.Definition = ""
	cfg.Function.RoutingExpression = ""
	cfg.Function.Routing = stream.RoutingConfig{}
	cfg.Function.Bindings = nil
	cfg.InputBindings, cfg.OutputBindings = "", ""
	cfg.Bindings = map[string]stream.BindingConfig{}
}

// takePath takes the PATH argument (takePath in load.go).
func (f *endpointFlags) takePath(cmd *cobra.Command, args []string) error {
	return takePath(cmd, args, &f.config)
}

// check checks that the flags say where. pickDestination (send) lets
// --destination go with --binding, to pick one of the destinations of an
// input binding that reads several.
func (f *endpointFlags) check(pickDestination bool) error {
	var given []string
	for _, g := range []struct{ flag, v string }{{"--binding", f.binding}, {"--destination", f.destination}, {"--exchange", f.exchange}} {
		if g.v != "" && (g.flag != "--destination" || !pickDestination || f.binding == "") {
			given = append(given, g.flag)
		}
	}
	switch {
	case len(given) == 0:
		return usage("say where: --binding NAME, --destination NAME or --exchange NAME")
	case len(given) > 1:
		return usage("%s exclude each other", strings.Join(given, " and "))
	}
	return f.connect.check()
}

// where is the destination of --destination or --exchange ("" with
// --binding).
func (f *endpointFlags) where() string {
	if f.exchange != "" {
		return f.exchange
	}
	return f.destination
}

// checkExchange refuses --exchange on a binder of type typ other than
// RabbitMQ's: only there does a prefix make the destination's name.
func (f *endpointFlags) checkExchange(typ string) error {
	if f.exchange != "" && typ != rabbit.Type {
		return usage("--exchange names a RabbitMQ exchange, but the binder is of type %s: use --destination %s", typ, f.exchange)
	}
	return nil
}

// logger is the app's logger: warnings and errors on stderr, everything
// with --verbose.
func (f *endpointFlags) logger(e *runEnv) *slog.Logger {
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}

// endpoint is a binding of a service resolved from the flags.
type resolved struct {
	svc *service
	// eff is the effective configuration of the binding named.
	eff   stream.BindingConfig
	input bool
	// configured is the binding's own section, if it has one.
	configured *stream.BindingConfig
	bindingKey string
}

// resolve loads the service and finds the binding of --binding.
func (f *endpointFlags) resolve(cmd *cobra.Command, e *runEnv) (*service, *resolved, error) {
	s, err := loadService(e, f.config, f.lf.profiles(cmd))
	if err != nil {
		return nil, nil, failed(err)
	}
	if len(s.loadErrs) > 0 {
		return nil, nil, failed(fmt.Errorf("%s: the configuration has errors (streambind lint shows them):\n%s", s.configFile(), s.loadErrs.Error()))
	}
	cfg := *s.loaded.Stream
	if err := applyBinderFlag(&cfg, f.binder); err != nil {
		return nil, nil, err
	}
	s.loaded.Stream = &cfg
	if f.binding == "" {
		if err := checkBinderChoice(&cfg, "", f.binder); err != nil {
			return nil, nil, err
		}
		return s, nil, nil
	}
	cs := check(s)
	var names []string
	for _, b := range cs.bindings {
		if !b.configured && b.function != "" && !strings.EqualFold(b.name, f.binding) {
			continue
		}
		names = append(names, b.name)
		if strings.EqualFold(b.name, f.binding) {
			r := &resolved{svc: s, eff: cfg.Binding(b.name), input: b.input, bindingKey: b.name}
			for k, v := range cfg.Bindings {
				if strings.EqualFold(k, b.name) {
					v := v
					r.configured, r.bindingKey = &v, k
				}
			}
			if err := checkBinderChoice(&cfg, b.name, f.binder); err != nil {
				return nil, nil, err
			}
			return s, r, nil
		}
	}
	return nil, nil, usage("%s: no binding %q%s (bindings: %s)", s.configFile(), f.binding, didYouMean(f.binding, names), listOrNone(names))
}

// binderType returns the type of binder name in cfg.
func binderType(cfg *stream.Config, name string) string {
	if bc, ok := cfg.Binders[name]; ok {
		return bc.Type
	}
	for n, bc := range cfg.Binders {
		if strings.EqualFold(n, name) {
			return bc.Type
		}
	}
	return name
}

var errInProcess = errors.New("the in-process binder (memory) lives inside one app's process: streambind cannot reach it (use a profile with kafka, rabbit, nats or redis)")

// startError is an app that did not start (runApp).
type startError struct{ err error }

func (e *startError) Error() string { return "start: " + e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// startHint adds to an app that did not start on binder type typ what to
// check: for Kafka, a broker at the brokers configured (a laptop often has
// none; streambind kafka serve runs one) — only when no connection could
// be made (refused, unreachable, an unknown host): a broker that refused
// the client's TLS or SASL plainly listens.
func startHint(typ string, err error) error {
	var se *startError
	var te *stream.StartupTimeoutError
	if typ == "kafka" && errors.As(err, &se) && errors.As(err, &te) && connectFailed(te.Err) {
		return fmt.Errorf("%w\nhint: is a Kafka broker listening at the binder's brokers (KAFKA_BROKERS in the examples' configurations)? For development, streambind kafka serve runs one on 127.0.0.1:9092", err)
	}
	return err
}

// connectFailed reports whether err is a connection that could not be
// made at all: refused, no route, a dial timeout, a host that does not
// resolve.
func connectFailed(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.As(err, &dns) || errors.As(err, &op) && op.Op == "dial"
}

// sendError is err of sending a message as send reports it: the core's
// "binding streambind-send: send to D: " is dropped when the binder's own
// error names the destination too (its binding name is send's own, not
// the user's).
func sendError(err error, name, dest string) error {
	inner := errors.Unwrap(err)
	if inner != nil && name == sendBinding && err.Error() == "binding "+name+": send to "+dest+": "+inner.Error() {
		return inner
	}
	return err
}

// userBindingErr is err (of the app send or tail runs) with each
// configuration problem at a key of binding internal, the name send or
// tail binds under (streambindTail-in-0, streambind-send), named at the
// key the user set in binding user's configuration, with its origin: tail
// carries the binder-specific settings of the user's binding (and its
// binder type's defaults) over to its own, so a setting it refuses was
// reported as stream.kafka.bindings.streambindTail-in-0.consumer.ack-mode
// at the line of the stream.kafka.bindings section, a binding the user
// never wrote. The key is the user's binding's own, else its binder
// type's default (stream.<type>.default.consumer.ack-mode) where only that
// sets it, else the nearest setting in the user's binding's section (a
// key spelt otherwise: ackMode). A problem at a key the user did not set
// (one send or tail sets itself) keeps its name. The problems are changed
// in place; err is returned.
func userBindingErr(err error, s *service, internal, user string) error {
	var ces stream.ConfigErrors
	var ce *stream.ConfigError
	switch {
	case err == nil || user == "" || strings.EqualFold(internal, user):
		return err
	case errors.As(err, &ces):
	case errors.As(err, &ce):
		ces = stream.ConfigErrors{ce}
	default:
		return err
	}
	seg := ".bindings." + strings.ToLower(internal)
	for _, e := range ces {
		lower := strings.ToLower(e.Path)
		i := strings.Index(lower, seg)
		if i < 0 || !strings.HasPrefix(lower, "stream") || (len(lower) > i+len(seg) && lower[i+len(seg)] != '.') {
			continue
		}
		section, rest := e.Path[:i], e.Path[i+len(seg):]
		var cands []string
		for _, b := range []string{user, stream.SCStComposedBindingName(user)} {
			cands = append(cands, section+".bindings."+b+rest)
		}
		if section != "stream" { // stream.<type>: its default section
			cands = append(cands, section+".default"+rest)
		}
		found := false
		for _, c := range cands {
			if o, ok := s.exactOrigin(c); ok {
				e.Path, e.Origin, found = c, o, true
				break
			}
		}
		if found {
			continue
		}
		// The nearest key set within the user's binding's section.
		top := strings.ToLower(section + ".bindings." + user)
		for p := strings.ToLower(cands[0]); len(p) > len(top); {
			j := strings.LastIndexAny(p, ".[")
			if j < len(top) {
				break
			}
			p = p[:j]
			if o, ok := s.exactOrigin(p); ok {
				e.Path, e.Origin = cands[0], o
				break
			}
		}
	}
	return err
}

// runApp runs app until ctx ends, calling ready once it runs; it returns
// what Run returned, or the error of ready.
func runApp(ctx context.Context, app *stream.App, ready func(context.Context) error) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	select {
	case <-app.Ready():
	case err := <-done:
		if err == nil {
			err = ctx.Err()
		}
		return &startError{err}
	}
	err := ready(runCtx)
	cancel()
	if rerr := <-done; rerr != nil && !errors.Is(rerr, context.Canceled) {
		err = errors.Join(err, fmt.Errorf("stop: %w", rerr))
	}
	return err
}

// appOptions are the options of the apps send and tail run.
func appOptions(log *slog.Logger) []stream.Option {
	opts := []stream.Option{stream.WithLogger(log), stream.WithoutSignals()}
	for typ, f := range binderTypes() {
		opts = append(opts, stream.WithBinderType(typ, f))
	}
	return opts
}

const sendBinding = "streambind-send"

func newSendCmd(e *runEnv) *cobra.Command {
	var ef endpointFlags
	var headers []string
	var key string
	cmd := &cobra.Command{
		Use:   "send [PATH] [MESSAGE...]",
		Short: "Send messages to a binding's destination or to a destination",
		Long: `send sends messages with the binders an app uses, configured by the
service's configuration (PATH or --config, --profile, environment,
placeholders). PATH, as to lint and config, is the service's directory or
file: the first argument is PATH when it names a directory or a .yaml,
.yml or .properties file, else it is a message.

  --binding NAME       an output binding: sent through it, with its
                       destination, binder, content type, partitioning and
                       binder-specific settings, as the app's send bridge
                       does; an input binding: sent to the destination it
                       reads, on its binder, so that its function gets them
                       (one that reads several, comma-separated: the one
                       --destination names, still on the binding's binder
                       and with its prefix)
  --destination NAME   a destination, on --binder or the default binder,
                       named as in the configuration: on RabbitMQ the
                       exchange <prefix>NAME, with the prefix of
                       stream.rabbit.default.producer.prefix (SCSt's), as
                       the service's producers send to it
  --exchange NAME      RabbitMQ: the exchange NAME exactly, no prefix

The binder of a binding or destination that names none is --binder, else
stream.default-binder, else the one binder declared under stream.binders
that is a default candidate (default-candidate not false). When none of
them decides (the app's code does, by the one binder type it registers),
send stops with exit status 2: pass --binder. So does a --binding the
configuration does not have (the error lists those it has).

Each MESSAGE argument is one message; without any, every non-blank line of
stdin is one (JSON lines). With a JSON content type (the default) a message
must be valid JSON; the MESSAGE arguments are all checked before the
first is sent (stdin's lines as they come). --header k=v (repeatable) adds
headers; --header contentType=TYPE sets the messages' content type (text
with contentType=text/plain, say) in place of the binding's. --key K is
every message's key, sent as the app sends a keyed message: a partitioned
output binding (partition-key-expression or partition-key-extractor-name,
its own or stream.default.producer's) chooses the partition from K, SCSt's
way, among its partition-count partitions, in place of its expression
(header scst_partition). Anywhere else (--destination, an input binding's
destination, an output binding that is not partitioned: partition-count
alone partitions nothing) K is only the message's key and the binder
places the message as configured: on Kafka the record key, whose partition
Kafka's default partitioner picks (murmur2, as a Java producer's), unless
the binding's Kafka message-key-expression makes the key; on RabbitMQ and
NATS the x-streambind-key header; on Redis the entry's key field. Each send
returns once the broker confirmed it. On RabbitMQ a message that no queue
is bound for is returned (unroutable: producers publish mandatory) and
send fails, saying what to do: start a consumer with a group of the
destination first (it declares its group's queue), or set the output
binding's producer.required-groups, whose queues send declares and binds
before the first message, as the service's producer does, with the
binding's own RabbitMQ producer properties (SCSt's rule): give it the
queue settings of the group's consumer binding (auto-bind-dlq: true for
one with dlq, its ttl, max-length, quorum, dead-letter-* ...; the error
names them when that binding is in the configuration), or that
consumer's service fails to start (inequivalent arg); for an input
binding without a group, give it one (stream.bindings.B.group): its
anonymous queue is deleted when its consumer stops. Through a partitioned
output binding the error names the partition that has no queue (a
group's queue of partition n, <destination>.<group>-n, is bound with
<destination>-n): start the group's consumers of every partition first
(each declares the queues of its instance-index or instance-index-list),
or set required-groups, which declares every partition's queue; a
partitioned input binding's queues take no message sent without a
partition: send through the output binding that feeds them.
The in-process binder cannot be reached from another process.

` + connectHelp,
		Example: `  streambind send --profile kafka --binding chargePayment-in-0 '{"id":"o-1","customerId":"c-7","quantity":2}'
  streambind send --profile rabbit --destination orders --header source=cli < orders.jsonl
  streambind send --profile kafka --binding placeOrder-out-0 --key c-7 '{"id":"o-2","customerId":"c-7"}'
  streambind send --profile rabbit --binding audit-in-0 --destination refunds '{"id":"r-1"}'   # audit-in-0 reads orders,refunds
  streambind send services/orders --binding placeOrder-out-0 '{"id":"o-3"}'   # PATH: the service's configuration`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && isServicePath(e, args[0]) {
				if err := ef.takePath(cmd, args[:1]); err != nil {
					return err
				}
				args = args[1:]
			}
			if err := ef.check(true); err != nil {
				return err
			}
			hdrs := stream.Headers{}
			for _, h := range headers {
				k, v, ok := strings.Cut(h, "=")
				if !ok || strings.TrimSpace(k) == "" {
					return usage("--header: want k=v, got %q", h)
				}
				hdrs[strings.TrimSpace(k)] = v
			}
			s, r, err := ef.resolve(cmd, e)
			if err != nil {
				return err
			}
			cfg := *s.loaded.Stream
			onlyOwnBindings(&cfg)
			var name string
			var bc stream.BindingConfig
			if r != nil && !r.input && ef.destination != "" {
				return usage("--destination with --binding picks one of the destinations an input binding reads; %s is an output binding, which sends to %s", ef.binding, r.eff.Destination)
			}
			switch {
			case r != nil && !r.input:
				name = r.bindingKey
				if r.configured != nil {
					bc = *r.configured
				}
			case r != nil:
				// A binding that reads several destinations (SCSt's
				// comma-separated destination) is sent to the one
				// --destination picks, on the binding's binder, with its
				// prefix: no --binder. It said "send to one with
				// --destination and --binder", as --destination alone
				// meant the default binder and prefix.
				dests := stream.Destinations(r.eff.Destination)
				dest, err := pickDestination(ef.binding, dests, ef.destination)
				if err != nil {
					return err
				}
				name = sendBinding
				bc = stream.BindingConfig{Destination: dest, Binder: r.eff.Binder, ContentType: r.eff.ContentType}
			default:
				name = sendBinding
				// The binder: --binder or stream.default-binder, the
				// configuration's default binder now.
				bc = stream.BindingConfig{Destination: ef.where()}
			}
			cfg.Bindings[name] = bc
			cfg.OutputBindings = name
			keepExtensionBinding(&cfg, name)
			eff := cfg.Binding(name)
			// --key is the message's key, sent as the app sends a keyed
			// message (an Envelope's Key through its bridge): a
			// partitioned binding (partition-key-expression or
			// -extractor-name, its own or stream.default's) selects the
			// partition from it, SCSt's way, in place of its expression;
			// any other leaves the partition to the binder — on Kafka the
			// record key, which Kafka's default partitioner (murmur2)
			// places, as for a Java producer; RabbitMQ, NATS and Redis
			// carry the key with the message and route as configured. It
			// made every binding partitioned: scst_partition, and the
			// Java hash's partition in place of Kafka's.
			var opts []stream.Option
			partitionByKey := key != "" && eff.Producer.IsPartitioned()
			if partitionByKey {
				// The key replaces the binding's expression or extractor
				// (one registered in the service's code, not here), so
				// that the app starts; the message is an Envelope with the
				// key (below), whose Key selects the partition and is sent.
				bc.Producer.PartitionKeyExpression = ""
				bc.Producer.PartitionKeyExtractorName = "streambind-key"
				opts = append(opts, stream.WithKeyExtractor("streambind-key", func(any, stream.Headers) (any, error) {
					return key, nil
				}))
				cfg.Bindings[name] = bc
				eff = cfg.Binding(name)
			}
			typ := binderType(&cfg, eff.Binder)
			if typ == memory.Type {
				return failed(errInProcess)
			}
			if err := ef.checkExchange(typ); err != nil {
				return err
			}
			switch {
			case r != nil && r.input:
				// To the exchange the consumer binding's queue is bound to.
				withRabbitPrefix(&cfg, typ, name, false, rabbitPrefixOf(s.loaded.Stream, typ, r, false))
			case ef.exchange != "":
				// The exchange as named: not the default prefix.
				withRabbitPrefix(&cfg, typ, name, false, "")
			}
			// --destination: the binding gets stream.rabbit.default's
			// producer prefix, as the service's producers do.
			bound := ef.connect.bindConnectTimeout(&cfg, eff.Binder)
			opts = append(appOptions(quietRetries(ef.logger(e), e.stderr, bound)), opts...)
			// A contentType given with --header is the messages' type
			// (the binding's applies to messages without one). Only the
			// exact, non-empty header counts, as for the app
			// (Envelope.ContentType): "contenttype" or an empty value
			// leaves the binding's type on the wire, so it is checked.
			ct := eff.ContentType
			if v := hdrs[stream.HeaderContentType]; v != "" {
				ct = v
			}
			isJSON := strings.Contains(strings.ToLower(ct), "json")
			// The arguments are all checked before any is sent: no
			// partial send for a typo in the last one. (Lines of stdin
			// stream: each is checked before it is sent.)
			if isJSON {
				for i, a := range args {
					if !json.Valid([]byte(a)) {
						return failed(fmt.Errorf("argument %d is not JSON (content type %s): %q; nothing sent%s", i+1, ct, truncate(a, 80), contentTypeHint(hdrs)))
					}
				}
			}
			app, err := stream.NewApp(&cfg, stream.NewCatalog(), opts...)
			if err != nil {
				return failed(err)
			}
			next := messageSource(args, cmd.InOrStdin())
			sent := 0
			err = runApp(cmd.Context(), app, func(ctx context.Context) error {
				if e.ready != nil {
					e.ready <- eff.Destination
				}
				for {
					msg, where, err := next(ctx)
					if err == io.EOF {
						return nil
					}
					if err != nil {
						return err
					}
					if isJSON && !json.Valid(msg) {
						return fmt.Errorf("%s is not JSON (content type %s): %q%s", where, ct, truncate(string(msg), 80), contentTypeHint(hdrs))
					}
					var m any
					if key != "" {
						// An Envelope's Key is the message key, and on a
						// partitioned binding selects the partition (the
						// partition key alone is never sent as the key).
						m = stream.Envelope{Payload: msg, Headers: hdrs.Clone(), Key: []byte(key)}
					} else {
						m = stream.Message[[]byte]{Payload: msg, Headers: hdrs.Clone()}
					}
					if err := app.Bridge().Send(ctx, name, m); err != nil {
						return fmt.Errorf("%s: %w", where, unroutableHint(sendError(err, name, eff.Destination), sendUnroutableRemedy(s, r, eff.Destination)))
					}
					sent++
				}
			})
			target := ef.binding
			if target == "" {
				target = ef.where()
			}
			on := eff.Destination + " on binder " + eff.Binder
			if x := exchangeNote(&cfg, typ, name, false, eff.Destination); x != "" {
				on += ", " + x
			}
			fmt.Fprintf(e.stderr, "sent %d message%s to %s (%s)\n", sent, plural(sent), target, on)
			if err != nil {
				return failed(sendNamed(startHint(typ, bound.startFailure(err)), name, r))
			}
			return nil
		},
	}
	ef.add(cmd, "send to")
	if fl := cmd.Flags().Lookup("destination"); fl != nil {
		fl.Usage += "; with --binding, which of the destinations of an input binding that reads several (on the binding's binder)"
	}
	cmd.Flags().StringArrayVar(&headers, "header", nil, "a header k=v (repeatable)")
	cmd.Flags().StringVar(&key, "key", "", "the key of every message (Kafka record key); it selects the partition only on a partitioned binding")
	return cmd
}

// pickDestination is the destination of input binding binding, which
// reads dests, that send sends to: the one --destination (flag) names,
// else the only one.
func pickDestination(binding string, dests []string, flag string) (string, error) {
	if flag != "" {
		for _, d := range dests {
			if d == strings.TrimSpace(flag) {
				return d, nil
			}
		}
		return "", usage("--destination %s: binding %s reads %s, not %s", flag, binding, strings.Join(dests, ", "), flag)
	}
	if len(dests) != 1 {
		return "", usage("binding %s reads %d destinations (%s): say which with --destination, as in: streambind send --binding %s --destination %s", binding, len(dests), strings.Join(dests, ", "), binding, dests[0])
	}
	return dests[0], nil
}

// messageSource returns the messages of args, or else the non-blank lines
// of in, one at a time, with where each came from; io.EOF after the last,
// ctx's error once it ends (Ctrl-C while send waits for a line of a
// terminal or a pipe).
func messageSource(args []string, in io.Reader) func(context.Context) ([]byte, string, error) {
	if len(args) > 0 {
		i := 0
		return func(ctx context.Context) ([]byte, string, error) {
			if err := ctx.Err(); err != nil {
				return nil, "", err
			}
			if i >= len(args) {
				return nil, "", io.EOF
			}
			i++
			return []byte(args[i-1]), fmt.Sprintf("argument %d", i), nil
		}
	}
	type line struct {
		text  []byte
		where string
		err   error
	}
	// A read of in cannot be interrupted: it runs in a goroutine of its
	// own, which a run that ends leaves blocked (the process exits).
	lines := make(chan line)
	var once sync.Once
	// ctx is the first call's (send's run): once it ends, nobody reads
	// lines, and the goroutine ends as soon as its read returns.
	start := func(ctx context.Context) {
		go func() {
			put := func(l line) bool {
				select {
				case lines <- l:
					return true
				case <-ctx.Done():
					return false
				}
			}
			sc := bufio.NewScanner(in)
			sc.Buffer(make([]byte, 64*1024), 16<<20)
			n := 0
			for sc.Scan() {
				n++
				if t := strings.TrimSpace(sc.Text()); t != "" {
					if !put(line{text: []byte(t), where: fmt.Sprintf("line %d", n)}) {
						return
					}
				}
			}
			err := io.EOF
			if serr := sc.Err(); serr != nil {
				err = fmt.Errorf("stdin, after line %d: %w", n, serr)
			}
			put(line{err: err})
		}()
	}
	done := false
	return func(ctx context.Context) ([]byte, string, error) {
		if done {
			return nil, "", io.EOF
		}
		once.Do(func() { start(ctx) })
		select {
		case l := <-lines:
			if l.err != nil {
				done = true
			}
			return l.text, l.where, l.err
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
}

// truncate cuts s to at most n bytes, at a rune boundary (a cut rune
// would print as bytes that are not UTF-8).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

const tailFunction = "streambindTail"

// tailed is one message as tail prints it.
type tailed struct {
	// Headers are text values as strings, binary ones as {"b64": ...,
	// "value": n} (headersJSON).
	Headers map[string]any `json:"headers"`
	// Key is the message key (the Kafka record key), left out when the
	// message has none: a string when it is printable text, else
	// {"b64": ...}.
	Key any `json:"key,omitempty"`
	// Payload is the payload itself when it is JSON, a string when it is
	// other UTF-8 text, else {"b64": ...} (payloadValue).
	Payload any `json:"payload"`
}

// keyValue is a message key as tail prints it; nil when there is none.
func keyValue(k []byte) any {
	switch {
	case len(k) == 0:
		return nil
	case binaryHeaderValue(string(k)):
		return binaryHeader{B64: base64.StdEncoding.EncodeToString(k)}
	}
	return string(k)
}

func newTailCmd(e *runEnv) *cobra.Command {
	var ef endpointFlags
	var group string
	var count int
	var timeout time.Duration
	var fromBeginning, showSecrets bool
	var routingKey string
	cmd := &cobra.Command{
		Use:   "tail [PATH]",
		Short: "Print the messages that arrive at a binding's destination or at a destination",
		Long: `tail consumes with the binders an app uses, configured by the service's
configuration (PATH or --config, --profile, environment, placeholders; PATH
as to lint and config: the service's directory or file), and prints
every message as one JSON line: {"headers": {...}, "key": ..., "payload": ...}
(the payload as JSON when it is JSON, as a string when it is other UTF-8
text, else as {"b64": "<its bytes in base64>"}; "key", the message key —
the Kafka record key — only when the message has one, as a string, or
{"b64": ...} when it is not printable text). A header value that is
not text (not UTF-8, or with control characters) is an object
{"b64": "<its bytes in base64>"}, with "value": n for the big-endian numbers
Spring Cloud Stream's Kafka binder writes (x-original-partition, -offset,
-timestamp in milliseconds), so that the JSON keeps every byte. The
value of a header whose name names a secret, by the rule that hides such
keys' values in the logs and in streambind config (Authorization,
Proxy-Authorization, x-api-key, password, token, client-secret ...; not
key, the partition key), is "******" unless --show-secrets; the payload
is printed as it is.

  --binding NAME       the destination(s) of this binding (an input
                       binding's, or where an output binding sends), on its
                       binder
  --destination NAME   a destination, on --binder or the default binder,
                       named as in the configuration: on RabbitMQ the
                       exchange <prefix>NAME, with the prefix of
                       stream.rabbit.default.consumer.prefix (SCSt's), as
                       the service's consumers read it
  --exchange NAME      RabbitMQ: the exchange NAME exactly, no prefix

The binder of a binding or destination that names none is --binder, else
stream.default-binder, else the one binder declared under stream.binders
that is a default candidate (default-candidate not false). When none of
them decides (the app's code does, by the one binder type it registers),
tail stops with exit status 2: pass --binder. So does a --binding the
configuration does not have (the error lists those it has).

By default tail is an anonymous consumer: it gets a copy of what arrives
while it runs and takes nothing from the services' groups; it dead-letters
nothing, and the service's consumer defaults (stream.default.consumer and
stream.<type>.default.consumer: dlq, batch-mode, ...) are not its own.
On Kafka, tail of an output binding B (--binding B) makes a missing
topic with B's partition-count, as B's producer would make it.
--group G joins group G instead. It then competes with the group's
consumers, the service's instances: tail acknowledges every message it
prints, so that message is gone from the group and the service never
handles, retries or dead-letters it. Use it on a group no service reads
(or to take messages away on purpose); to watch a live group's traffic,
tail without --group. A message that arrives once --count is reached is
handed back unacknowledged for the others (on RabbitMQ a requeue, which
spends one delivery of a quorum queue's delivery-limit). With
--binding B, an input binding, tail joins as B's consumer: with B's
settings that shape the group (dlq, partitioned, instance-index,
instance-count, instance-index-list: one consumer per listed index, so
that it reads the partitions B's consumers read; the "tailing" line on
stderr names them, "as instances 0,2 of 3") and all its binder-specific
consumer settings
(stream.<type>.bindings.B.consumer over
stream.<type>.default.consumer: on RabbitMQ the queue's arguments — the
dead-letter exchange and routing key, quorum, ttl, max-length ... — so
that it uses the queue the service declared), though not B's batch-mode,
concurrency, retries or auto-startup (it makes one attempt). Otherwise
(--destination, --exchange, an output binding) it has
stream.default.consumer's settings and no binder-specific ones: an existing RabbitMQ queue declared with
other arguments is refused (inequivalent arg); name the service's binding
with --binding instead (the error names it when the configuration has a
consumer binding of the destination in that group; deleting the queue,
with its messages, is for a queue no service uses). A group that did not exist
stays after tail ends, as every group does, and keeps what arrives for
it: a RabbitMQ queue
<prefix><destination>.G (the binding's prefix with --binding, the
default consumer prefix with --destination, none with --exchange) —
with --binding B of a binding with dlq also B's dead-letter queue
<prefix><destination>.G.dlq and dead-letter exchange (<prefix>DLX, or
B's dead-letter-exchange), as B's service declares them: the queue's
x-dead-letter-* arguments, which must be B's for the service to use the
queue, route there what the broker dead-letters (a message past B's ttl
or max-length), which would be dropped without it —, a NATS
durable consumer, a Redis consumer group, Kafka
committed offsets; delete it with the broker's tools when it was a one-off.
--from-beginning reads what the destination holds from its start, then what
arrives: on Kafka from the topic's first record, on NATS from the stream's
first message, on Redis from the stream's first entry (with --group only:
a Redis anonymous consumer reads only what arrives). With --group it
applies to a group that does not exist yet; an existing group goes on where
it is. RabbitMQ queues hold no history for a new consumer:
--from-beginning is refused there.

On RabbitMQ tail declares the exchange it reads as a consumer binding
does (a topic exchange; with --binding B --group G, of B's
exchange-type); an exchange that exists with another type (the direct
exchange DLX, say) it uses as it is, not declared. Its queue is bound with "#" (every message of a topic
exchange), or the key of --routing-key: a direct exchange routes only
the messages of that key, so tail of one needs --routing-key (for the
dead letters of a binding on the DLX: the binding's dead-letter routing
key, dead-letter-routing-key, else its queue's name).

With --count N tail stops after N messages (exit status 0), showing
progress on a terminal; --timeout D gives up after D (exit status 1 when
fewer than N arrived). Otherwise it runs until Ctrl-C or SIGTERM. The
in-process binder cannot be reached from another process.

` + connectHelp,
		Example: `  streambind tail --profile kafka --binding chargePayment-out-0
  streambind tail --profile rabbit --destination orders --count 10 --timeout 30s
  streambind tail --profile kafka --destination error.orders.payment --from-beginning | jq .headers
  streambind tail services/payments --binding chargePayment-out-0   # PATH: the service's configuration`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := ef.takePath(cmd, args); err != nil {
				return err
			}
			if err := ef.check(false); err != nil {
				return err
			}
			if count < 0 || timeout < 0 {
				return usage("--count and --timeout must not be negative")
			}
			s, r, err := ef.resolve(cmd, e)
			if err != nil {
				return err
			}
			cfg := *s.loaded.Stream
			// The binder: --binder or stream.default-binder, the
			// configuration's default binder now.
			bc := stream.BindingConfig{Destination: ef.where(), Group: group}
			if r != nil {
				bc.Destination, bc.Binder = r.eff.Destination, r.eff.Binder
			}
			// joins: tail joins a group of the service's input binding, so
			// it consumes as that binding does: the service's queue (a
			// RabbitMQ queue's x-dead-letter-*, quorum, TTL …) was
			// declared with its settings, and RabbitMQ refuses a consumer
			// that declares it with others (inequivalent arg).
			joins := group != "" && r != nil && r.input
			if joins {
				// Of the common settings only those that shape the
				// queue; not batch-mode, concurrency, retries or
				// auto-startup, which would change what tail prints.
				c := r.eff.Consumer
				bc.Consumer = stream.ConsumerConfig{DLQ: c.DLQ, Partitioned: c.Partitioned, InstanceIndex: c.InstanceIndex, InstanceCount: c.InstanceCount,
					InstanceIndexList: c.InstanceIndexList}
			}
			bc.Consumer.MaxAttempts = 1
			binding := tailFunction + "-in-0"
			onlyOwnBindings(&cfg)
			if group == "" || joins {
				// The anonymous consumer is tail's own, none of the
				// service's: it takes none of stream.default.consumer
				// (as none of stream.<type>.default.consumer below) and
				// dead-letters nothing. A default dlq (SCSt's
				// kafka.default.consumer.enableDlq, lifted there) gave
				// it a warning naming streambindTail-in-0, which the
				// user never wrote; batch-mode or auto-startup: false
				// stopped it printing what arrives. (With --group the
				// group is the service's: its defaults stay, as before.)
				cfg.Default.Consumer = stream.ConsumerConfig{}
			}
			cfg.Function.Definition = tailFunction
			cfg.Bindings = map[string]stream.BindingConfig{binding: bc}
			eff := cfg.Binding(binding)
			typ := binderType(&cfg, eff.Binder)
			if typ == memory.Type {
				return failed(errInProcess)
			}
			if err := ef.checkExchange(typ); err != nil {
				return err
			}
			if typ == kafka.Type && r != nil && !r.input && group == "" {
				// A topic tail finds missing is made with the output
				// binding's partition-count, as its producer would make
				// it: with the consumer's one partition (concurrency ×
				// instance-count) the service's next start failed
				// ("topic has 1 partitions, the binding needs 3").
				if n := r.eff.Producer.PartitionCount; n > 1 {
					bc.Consumer.Concurrency = n
					cfg.Bindings[binding] = bc
					eff = cfg.Binding(binding)
				}
			}
			// Binder-specific consumer settings: only what tail asks for,
			// and when it joins a group of the service's binding, all of
			// that binding's (its own and stream.<type>.default's).
			var own map[string]any
			if joins {
				own, _ = s.loaded.Stream.Extension(typ, r.bindingKey)
			}
			cfg.Extensions = cloneExtensions(cfg.Extensions)
			ext := cfg.Extensions[typ]
			ext.Default.Consumer = nil
			ext.Bindings = map[string]stream.ExtensionBindingConfig{}
			if own != nil {
				ext.Bindings[binding] = stream.ExtensionBindingConfig{Consumer: own}
			}
			if fromBeginning {
				switch {
				case typ == kafka.Type || typ == nats.Type || (typ == redis.Type && group != ""):
					ext.Bindings[binding] = stream.ExtensionBindingConfig{Consumer: mapsWith(own, "start-offset", "earliest")}
				case typ == redis.Type:
					return usage("--from-beginning on Redis needs --group: an anonymous consumer reads only what arrives; a new group G starts at the stream's first entry (delete it afterwards: XGROUP DESTROY)")
				default:
					return usage("--from-beginning: binder type %s holds no history that tail can read (a RabbitMQ queue gets only what arrives after it exists); leave it out", typ)
				}
			}
			if routingKey != "" {
				switch {
				case typ != rabbit.Type:
					return usage("--routing-key binds tail's RabbitMQ queue, but the binder is of type %s; leave it out", typ)
				case joins:
					return usage("--routing-key: tail joins group %s as binding %s, whose queue is bound as that binding binds it (its binding-routing-key); leave --routing-key out", group, r.bindingKey)
				}
				ext.Bindings[binding] = stream.ExtensionBindingConfig{Consumer: mapsWith(ext.Bindings[binding].Consumer, "binding-routing-key", routingKey)}
			}
			cfg.Extensions[typ] = ext
			// The binding's exchange, <prefix><destination> on RabbitMQ;
			// for --destination the default consumer prefix, as the
			// service's consumers read it (--exchange: none).
			if ef.exchange == "" {
				withRabbitPrefix(&cfg, typ, binding, true, rabbitPrefixOf(s.loaded.Stream, typ, r, true))
			}
			bound := ef.connect.bindConnectTimeout(&cfg, eff.Binder)

			out := cmd.OutOrStdout()
			progress := count > 0 && isTerminal(e.stderr)
			var mu sync.Mutex
			got := 0
			full := make(chan struct{})
			fns := stream.NewCatalog()
			stream.AddConsumer(fns, tailFunction, func(_ context.Context, m stream.Message[[]byte]) error {
				mu.Lock()
				defer mu.Unlock()
				if count > 0 && got >= count {
					return stream.ErrNak // not ours to take
				}
				line, err := json.Marshal(tailed{Headers: headersJSON(m.Headers, showSecrets), Key: keyValue(m.Key), Payload: payloadValue(m.Payload)})
				if err != nil {
					return stream.Permanent(err)
				}
				fmt.Fprintf(out, "%s\n", line)
				got++
				if progress {
					fmt.Fprintf(e.stderr, "\r%d/%d", got, count)
				}
				if count > 0 && got == count {
					close(full)
				}
				return nil
			})
			var userKey string // the user's binding, whose settings tail's carries
			if r != nil {
				userKey = r.bindingKey
			}
			var timedOut bool
			tailing := func(ctx context.Context) error {
				where := fmt.Sprintf("%s on binder %s", eff.Destination, eff.Binder)
				if x := exchangeNote(&cfg, typ, binding, true, eff.Destination); x != "" {
					where += " (" + x + ")"
				}
				if eff.Group != "" {
					where += ", group " + eff.Group
				}
				if joins {
					where += joinedInstances(eff.Consumer, eff.Group)
				}
				fmt.Fprintf(e.stderr, "tailing %s\n", where)
				if e.ready != nil {
					e.ready <- where
				}
				var deadline <-chan time.Time
				if timeout > 0 {
					t := time.NewTimer(timeout)
					defer t.Stop()
					deadline = t.C
				}
				select {
				case <-full:
				case <-ctx.Done():
				case <-deadline:
					timedOut = true
				}
				return nil
			}
			app, err := stream.NewApp(&cfg, fns, appOptions(quietRetries(ef.logger(e), e.stderr, bound))...)
			if err != nil {
				return failed(userBindingErr(err, s, binding, userKey))
			}
			err = runApp(cmd.Context(), app, tailing)
			if name, kind, ok := otherExchangeType(err); ok && typ == rabbit.Type && !joins {
				// An exchange that exists with another type than tail
				// declares it with (the direct DLX): tail reads it as
				// it is, not declared. It failed with "declare exchange
				// "DLX": it exists with a different type".
				if kind == "direct" && routingKey == "" {
					return failed(fmt.Errorf("exchange %q is a direct exchange: it routes a message only to the queues bound with its routing key, and tail's queue, bound with \"#\", would get none; pass --routing-key KEY (for dead letters on the DLX: the dead-letter routing key of the binding whose dead letters they are, its dead-letter-routing-key, else its queue's name)", name))
				}
				ext := cfg.Extensions[typ]
				ext.Bindings[binding] = stream.ExtensionBindingConfig{Consumer: mapsWith(ext.Bindings[binding].Consumer, "declare-exchange", false)}
				cfg.Extensions[typ] = ext
				if app, err = stream.NewApp(&cfg, fns, appOptions(quietRetries(ef.logger(e), e.stderr, bound))...); err != nil {
					return failed(userBindingErr(err, s, binding, userKey))
				}
				err = runApp(cmd.Context(), app, tailing)
			}
			if progress {
				fmt.Fprintln(e.stderr)
			}
			if err != nil {
				if !joins && typ == rabbit.Type {
					// A service's queue that tail declared with other
					// arguments: tail as its binding (--binding) first.
					err = tailQueueHint(err, s, bc.Destination, group)
				}
				return failed(startHint(typ, bound.startFailure(err)))
			}
			mu.Lock()
			n := got
			mu.Unlock()
			if timedOut && count > 0 && n < count {
				return failed(fmt.Errorf("%d of %d messages within %s", n, count, timeout))
			}
			return nil
		},
	}
	ef.add(cmd, "consume from")
	cmd.Flags().StringVar(&group, "group", "", "consume as a member of this group (default: an anonymous consumer that takes nothing from the groups)")
	cmd.Flags().IntVar(&count, "count", 0, "stop after this many messages (0: until interrupted)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: never)")
	cmd.Flags().BoolVar(&fromBeginning, "from-beginning", false, "read what the destination holds from its start (Kafka, NATS; Redis with --group)")
	cmd.Flags().StringVar(&routingKey, "routing-key", "", "RabbitMQ: bind tail's queue with this key instead of \"#\" (needed on a direct exchange such as DLX)")
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, showSecretsHelp)
	return cmd
}

// joinedInstances says which instances of a partitioned binding's group
// tail joined as (c, the consumer settings it took from the binding):
// ", as instances 0,2 of 3" with instance-index-list, one consumer per
// index, reading what the binding's consumers read (on RabbitMQ the
// queues <destination>.<group>-0 and -2), ", as instance 1 of 3" without;
// "" for a binding that is not partitioned (it reads the whole group's).
func joinedInstances(c stream.ConsumerConfig, group string) string {
	if !c.Partitioned {
		return ""
	}
	if ix := c.InstanceIndexes(group); len(ix) > 0 {
		s := make([]string, len(ix))
		for i, x := range ix {
			s[i] = strconv.Itoa(x)
		}
		return fmt.Sprintf(", as instances %s of %d", strings.Join(s, ","), c.InstanceCount)
	}
	return fmt.Sprintf(", as instance %d of %d", c.InstanceIndex, c.InstanceCount)
}

// payloadValue is the payload as tail prints it: JSON as itself, other
// UTF-8 text as a string, anything else as {"b64": ...}: a JSON string of
// bytes that are not UTF-8 would have each such byte replaced by U+FFFD,
// losing the payload.
func payloadValue(p []byte) any {
	if json.Valid(p) {
		return json.RawMessage(p)
	}
	if !utf8.Valid(p) {
		return binaryHeader{B64: base64.StdEncoding.EncodeToString(p)}
	}
	return string(p)
}

// keepExtensionBinding leaves in cfg's binder-specific sections
// (stream.<type>.bindings) only the settings of binding name (the
// service's output binding that send sends as), so that the others — the
// service's other bindings, which send does not bind — are neither
// applied nor warned about as configured but not bound.
func keepExtensionBinding(cfg *stream.Config, name string) {
	cfg.Extensions = cloneExtensions(cfg.Extensions)
	alt := stream.SCStComposedBindingName(name)
	for typ, ext := range cfg.Extensions {
		kept := map[string]stream.ExtensionBindingConfig{}
		for k, v := range ext.Bindings {
			if strings.EqualFold(k, name) || strings.EqualFold(k, alt) {
				kept[k] = v
			}
		}
		ext.Bindings = kept
		cfg.Extensions[typ] = ext
	}
}

// rabbitPrefixOf is the RabbitMQ prefix (SCSt's prefix) of binding r in
// cfg, "" on another binder: the binding's exchange is
// <prefix><destination>, where send and tail of the binding must go (the
// bare destination is another exchange, of another environment on a
// shared broker, or of none). Without r (--destination) it is
// stream.rabbit.default's consumer (input) or producer prefix, which a
// binding of the service's that sets none has.
func rabbitPrefixOf(cfg *stream.Config, typ string, r *resolved, input bool) string {
	if r != nil {
		return configPrefix(cfg, typ, r.bindingKey, r.input)
	}
	return configPrefix(cfg, typ, "", input)
}

// configPrefix is the RabbitMQ prefix of binding name's consumer (input)
// or producer properties in cfg, stream.rabbit.default's when it sets
// none (name "": the default's); "" on another binder type.
func configPrefix(cfg *stream.Config, typ, name string, input bool) string {
	if typ != rabbit.Type {
		return ""
	}
	cons, prod := cfg.Extension(typ, name)
	if input {
		return topology.ExtString(cons, "prefix")
	}
	return topology.ExtString(prod, "prefix")
}

// exchangeNote names the RabbitMQ exchange(s) of destination dest of
// binding name (a consumer when input) in cfg when its prefix makes them
// differ from dest: "exchange dev.orders"; "" otherwise.
func exchangeNote(cfg *stream.Config, typ, name string, input bool, dest string) string {
	p := configPrefix(cfg, typ, name, input)
	if p == "" {
		return ""
	}
	var names []string
	for _, d := range stream.Destinations(dest) {
		names = append(names, p+d)
	}
	return "exchange " + strings.Join(names, ", ")
}

// withRabbitPrefix sets prefix p on binding name's consumer (input) or
// producer properties of binder type typ in cfg (nothing on another
// binder type; "" sets no prefix, over a default one).
func withRabbitPrefix(cfg *stream.Config, typ, name string, input bool, p string) {
	if typ != rabbit.Type {
		return
	}
	cfg.Extensions = cloneExtensions(cfg.Extensions)
	ext := cfg.Extensions[typ]
	ext.Bindings = copyBindings(ext.Bindings)
	eb := ext.Bindings[name]
	if input {
		eb.Consumer = mapsWith(eb.Consumer, "prefix", p)
	} else {
		eb.Producer = mapsWith(eb.Producer, "prefix", p)
	}
	ext.Bindings[name] = eb
	cfg.Extensions[typ] = ext
}

func copyBindings(m map[string]stream.ExtensionBindingConfig) map[string]stream.ExtensionBindingConfig {
	out := make(map[string]stream.ExtensionBindingConfig, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// mapsWith is a copy of m with k set to v (any other spelling of k, such
// as Prefix, dropped).
func mapsWith(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for mk, mv := range m {
		if props.Norm(mk) != props.Norm(k) {
			out[mk] = mv
		}
	}
	out[k] = v
	return out
}

func cloneExtensions(m map[string]stream.ExtensionConfig) map[string]stream.ExtensionConfig {
	out := make(map[string]stream.ExtensionConfig, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// contentTypeHint is what a "not JSON" error of send adds when a --header
// looks like the content type under another name (content-type,
// Content-Type, contenttype, content_type): headers are case-sensitive
// and the content type's is contentType, so that one set the binding's
// type, not the one meant. "" when there is none.
func contentTypeHint(hdrs stream.Headers) string {
	for k, v := range hdrs {
		if k == stream.HeaderContentType {
			continue
		}
		n := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(strings.TrimSpace(k)))
		if n == "contenttype" {
			return fmt.Sprintf("; the content type's header is %[1]s, not %[2]q: --header %[1]s=%[3]s", stream.HeaderContentType, k, v)
		}
	}
	return ""
}
