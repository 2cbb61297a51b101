// Command streambind checks, draws and explains streambind services from
// their configuration, and runs a local Kafka-protocol broker for
// development.
//
//	streambind lint [PATH...]            # validate configurations, without connecting
//	streambind graph [PATH...]           # the topology, as Mermaid, DOT or JSON
//	streambind config [PATH]             # the effective configuration, with origins
//	streambind kafka serve --port 9092   # a local Kafka broker (kfake)
//	streambind send --binding NAME MSG   # send JSON messages through the binders
//	streambind tail --binding NAME       # print what arrives, headers and payload
//	streambind dlq ls --binding NAME     # dead letters; also show, replay, purge
//
// A PATH is a configuration file (application.yaml, .yml or .properties:
// its profile files are looked for beside it) or a directory searched as an
// app searches its working directory (./, ./config/ and ./config/*/ for
// application.* or SPRING_CONFIG_NAME's names, SPRING_CONFIG_LOCATION and
// SPRING_CONFIG_ADDITIONAL_LOCATION applied); the default is the working
// directory. Every subcommand reads a
// configuration exactly as an app does with package config: the profile
// files of --profile (else STREAM_PROFILES_ACTIVE, else
// SPRING_PROFILES_ACTIVE) merged over the base file, environment
// overrides (STREAM_BINDINGS_X_IN_0_GROUP=...) and ${VAR:default}
// placeholders. Binder types kafka, rabbit, nats, redis and memory are
// known. The binder of the bindings that name none is chosen as the app
// chooses it (stream.DefaultBinderOf): stream.default-binder, else the one
// binder declared under stream.binders that is a default candidate
// (default-candidate not false). When neither is set, or no declared
// binder is a candidate, the app's code decides (the one binder type it
// registers that no declared binder is named after), which the command cannot
// see: lint and graph check such bindings with the binder of the
// configuration's one binder-specific section (stream.kafka, ...), else
// the in-process binder; config shows the default binder as null; send,
// tail and dlq need --binder (exit status 2 without it).
//
// # lint
//
// lint reports every problem an app would report at start-up, and more,
// without connecting to anything: unknown keys, bad values and types,
// unset placeholders, unknown binder types, binder-specific properties
// (each binder's own validator), the management and logging sections, and
// the consistency of bindings within and across the services given:
//
//   - dlq on an anonymous consumer (no group): failed messages would be
//     dropped, not dead-lettered (on RabbitMQ a warning instead: they go
//     to the DLX, as in SCSt, and reach a queue only if one is bound
//     there);
//   - a partitioned consumer whose instance-count does not fit the
//     partition-count of the producers of its destination (instances that
//     receive nothing; on RabbitMQ, partitions routed to no queue);
//     producers of one destination that disagree on partition-count;
//   - (a warning) a group that producer.required-groups provisions but no
//     consumer of the services given reads: its queue only grows;
//   - a RabbitMQ producer whose required-groups declares a group's queue
//     with other arguments than the group's consumer binding of the
//     destination (dlq without the producer's auto-bind-dlq, ttl,
//     quorum, dead-letter-* ...): the producer declares it with its own
//     properties, as in SCSt, and whichever binds second fails at start;
//   - (a warning) a RabbitMQ producer that publishes mandatory (the
//     default) to an exchange no queue is known to be bound to (no
//     required-groups, no consumer of the services given): every send is
//     returned unroutable and fails, and a function's input is
//     redelivered for ever, until some app binds a queue;
//   - (a warning) a partitioned consumer of a group with instance-count > 1
//     on the in-process binder: the other instances' queues are read by
//     nobody in its process, and once full every send to the destination
//     blocks.
//
// Functions are not registered in a lint run. lint builds the app with a
// stand-in for every function the definition names, of the kind its
// configured bindings show (a consumer when only <fn>-in-0 is configured,
// a supplier when only <fn>-out-0 is, else a function; with neither, the
// kind its misspelt bindings show, paymnt-in-0 for payment-in-0, which
// lint warns about with a did-you-mean), so that the
// bindings are checked by the app's own code (stream.NewApp: binders,
// defaults, expressions, binding names) and by the binders' validators,
// and never reported as "function not registered". What only code can
// tell is not checked: a function's types, a key extractor's existence.
//
// Output: one line per problem, sorted, "file:line: key: message" (a
// problem with no line names the file; one set by an environment variable
// reads "env NAME: key: message"); warnings read "file:line: key: warning:
// message". --format github prints GitHub Actions annotations instead
// (::error file=F,line=L::key: message; no file for an environment
// variable's). The exit status is 1 when there
// is an error (or, with --strict, a warning), else 0.
//
// # graph
//
// graph draws the services, functions, bindings, destinations, groups,
// dead-letter destinations and binders of the configurations given, with
// producers joined to consumers across services by binder type and
// destination. A service is named by spring.application.name, else by the
// directory of its file. --format mermaid (default), dot or json. It also
// reports what only a system-wide view shows: destinations produced but
// never consumed, consumed but never produced, dead-letter destinations
// nobody reads, and producers and consumers whose partitioning disagrees;
// on stderr (one "note: " line each), or under "findings" in the JSON.
//
// # config
//
// config prints the effective configuration, every value with its origin
// (file:line, env NAME, or default), secrets redacted (package redact).
//
// # kafka serve
//
// kafka serve runs a Kafka-protocol broker (the kfake cluster the tests
// use) on 127.0.0.1:PORT until SIGINT or SIGTERM, so that a service runs
// with binder kafka on a laptop without Kafka installed.
//
// # send and tail
//
// send sends JSON messages (arguments, or JSON lines on stdin) with
// --header k=v and --key K to a binding's destination (through the binding
// itself for an output binding, with its partitioning) or to
// --destination, with the binders of the service's configuration
// (PATH as to lint and config, or --config PATH; --profile). tail prints what arrives there, one JSON
// line {"headers", "payload"} per message, as an anonymous consumer
// unless --group is given; --count N stops after N messages (progress on a
// terminal), --timeout D gives up, --from-beginning reads what a Kafka
// topic, NATS stream or (with --group) Redis stream holds from its start. The in-process binder cannot be reached from another
// process, so both refuse it.
//
// send, tail and dlq give up on a broker they cannot reach (refused,
// unknown host, or one that accepts the connection and never answers)
// after --connect-timeout (default 10s; 0 waits the binder's
// startup-timeout, 60s by default, as an app does), with one error that
// names the binder and its address.
//
// # dlq
//
// dlq ls, show, replay and purge work on the dead letters of a consumer
// binding (--binding), found by its binder ([stream.DeadLetterSourcer],
// the mechanism of consumer.dead-letters-of) and read and removed through
// [stream.DeadLetterStore] (Kafka, RabbitMQ, NATS, Redis; the in-process
// binder through the library). ls counts them by x-exception-message without removing or
// reordering any; show prints one; replay sends them back to the binding's
// destination (or --to), filtered by headers, exception text and time, at
// --rate, removing each once the broker confirmed its copy, and counts
// replays in x-streambind-replay-count (--max-replays); purge removes them
// after a confirmation (--yes). docs/cli.md is generated from this command
// tree: go generate ./cmd/streambind.
//
// Every subcommand has --help with an example. Exit status: 0 on success
// and for --help, 1 on failure (or problems found), 2 on bad usage (and
// for dlq purge without --yes when stdin ends before an answer).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	goredis "github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/streambind/streambind/stream"
)

func main() {
	// go-redis reports every failed dial on its own process-wide logger
	// (stderr): a wall of lines while send, tail or dlq wait for a Redis
	// that is down. The binder's errors (and --verbose) say the same, with
	// the address. Set here, once, as binder/redis asks of main.
	goredis.SetLogger(noRedisLog{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal asks the subcommand to stop; a second one ends
		// the process at once (the default action), should a step not
		// watch ctx.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], &runEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: os.Environ()})
	stop()
	os.Exit(code)
}

// noRedisLog drops go-redis's own log lines.
type noRedisLog struct{}

func (noRedisLog) Printf(context.Context, string, ...any) {}

// runEnv is what a run sees of the process: its streams, its environment
// and its working directory ("" for the process's own), so that tests can
// run the command in process.
type runEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            []string
	dir            string
	// ready, when non-nil, receives the address of a broker that kafka
	// serve started, what tail consumes, or the destination send sends to
	// once it runs (tests).
	ready chan<- string
	// binders, when non-nil, replaces the binder types of a dlq
	// subcommand (tests: an in-process broker shared with an app).
	binders map[string]stream.BinderFactory
}

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// exitError ends a run with an exit status; a nil err means the
// subcommand already said what went wrong.
type exitError struct {
	code int
	err  error
	// notUsage is an exit status 2 that is no usage error (the flags
	// were right, the run could not go on without one more): err says
	// what to pass, and run adds no "Run '... --help' for usage." hint.
	notUsage bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// failed is an exitError with status 1.
func failed(err error) error { return &exitError{code: exitFailure, err: err} }

// usage is an exitError with status 2.
func usage(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// needsFlag is an exitError with status 2 that is not a usage error:
// what the command needs was not there at run time (purge's question met
// the end of stdin); the message says which flag to pass, and no usage
// hint follows it.
func needsFlag(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...), notUsage: true}
}

// silent ends a run with status code without a message (the subcommand
// printed its report).
func silent(code int) error { return &exitError{code: code} }

// run is main without the process around it.
func run(ctx context.Context, args []string, e *runEnv) int {
	root := newRoot(e)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		// Cobra's own errors: unknown commands, flags and arguments.
		ee = &exitError{code: exitUsage, err: err}
	}
	if ee.err != nil {
		if ctx.Err() != nil && errors.Is(ee.err, context.Canceled) {
			// Ctrl-C or SIGTERM: a bare "context canceled" would read as a
			// fault.
			ee.err = errors.New("interrupted")
		}
		fmt.Fprintf(e.stderr, "streambind: %v\n", ee.err)
		if ee.code == exitUsage && !ee.notUsage && cmd != nil {
			fmt.Fprintf(e.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return ee.code
}

// newRoot builds the command tree.
func newRoot(e *runEnv) *cobra.Command {
	root := &cobra.Command{
		Use:   "streambind",
		Short: "Check, draw and explain streambind services from their configuration",
		Long: `streambind checks, draws and explains streambind services from their
configuration files, read exactly as an app reads them (profiles,
environment overrides, placeholders), tries them by hand (send, tail),
lists, replays and purges their dead letters (dlq), and runs a local Kafka
broker for development.`,
		Example: `  streambind lint                       # the service in the working directory
  streambind lint --profile kafka orders/ payments/
  streambind graph --format dot */application.yaml | dot -Tsvg > system.svg
  streambind config --profile rabbit
  streambind dlq ls --profile rabbit --binding chargePayment-in-0
  streambind kafka serve --port 9092`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			_ = cmd.Help()
			return silent(exitUsage)
		},
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddCommand(newLintCmd(e), newGraphCmd(e), newConfigCmd(e), newKafkaCmd(e), newSendCmd(e), newTailCmd(e), newDLQCmd(e), newGenDocCmd(e))
	return root
}
