package stream

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/streambind/streambind/internal/cron"
)

// Config is the "stream" section of application.yaml, decoded. Package
// config loads it from files, profiles and the environment; it can also be
// built in code. Field tags give the canonical (kebab-case) key names.
//
// A zero field means "not set" and takes its default (see [Config.Binding]
// and the Default* constants), which is why every numeric key whose default
// is not zero rejects zero as a value.
type Config struct {
	Function FunctionConfig `mapstructure:"function"`
	// DefaultBinder names the binder of bindings that name none: a key of
	// Binders or a binder type, matched case-insensitively. When it is
	// empty, the one binder declared under Binders is the default, else the
	// one binder type registered with the App (the in-process binder only
	// when it is the only one); with several and none chosen, NewApp fails
	// and lists them (see [DefaultBinderOf]). Default none.
	DefaultBinder string `mapstructure:"default-binder"`
	// Binders declares named binders. A binder type's name names a binder
	// of that type with the type's defaults only when no binder of that
	// type is declared here (as in SCSt); naming it beside declared binders
	// of the type is an error.
	Binders map[string]BinderConfig `mapstructure:"binders"`
	// Default holds defaults for every binding.
	Default BindingConfig `mapstructure:"default"`
	// Bindings by binding name ("<fn>-in-0", "<fn>-out-0").
	Bindings map[string]BindingConfig `mapstructure:"bindings"`
	// OutputBindings names output bindings that belong to no function, for
	// the send bridge: "orderEvents;audit" (SCSt output-bindings). They are
	// bound at start-up like function outputs.
	OutputBindings string `mapstructure:"output-bindings"`
	// InputBindings names input bindings that belong to no function (SCSt
	// input-bindings): "fooin;barin". Each is bound at start-up and
	// handled by the consumer registered in code under the binding's name
	// (stream.AddConsumer(c, "fooin", ...)), which the function definition
	// need not list; a name with no such consumer is an error.
	InputBindings string `mapstructure:"input-bindings"`
	// DynamicDestinations, when non-empty, lists the only destinations the
	// send bridge may send to without an output binding. Empty: any.
	DynamicDestinations []string `mapstructure:"dynamic-destinations"`
	// DynamicDestinationCacheSize bounds the bridge's cache of producers for
	// dynamic destinations; the least recently used is closed. Default 10;
	// a negative value is an error.
	DynamicDestinationCacheSize int `mapstructure:"dynamic-destination-cache-size"`
	// ShutdownTimeout bounds graceful shutdown. Default 10s; a negative
	// value is an error. On NATS and Redis the handlers still
	// running a tenth of it before its end (at most 1s) have their context
	// cancelled, so that one that returns then has its message given back
	// in time.
	ShutdownTimeout time.Duration `mapstructure:"shutdown-timeout"`
	// InstanceIndex and InstanceCount are this instance's place among the
	// app's instances (SCSt spring.cloud.stream.instance-index/-count):
	// the defaults of every consumer's instance-index and instance-count.
	// Defaults 0 and 1.
	InstanceIndex int `mapstructure:"instance-index"`
	InstanceCount int `mapstructure:"instance-count"`
	// Poller is the application-wide poller: the producer.poller of every
	// output binding that sets no producer.poller key, neither itself nor
	// through stream.default (a binding poller with any key set is whole,
	// its unset keys at their defaults, as SCSt builds a binding's poller
	// from its PollerProperties alone). The config package fills it from
	// SCSt's spring.cloud.stream.poller and Spring Integration's
	// spring.integration.poller, which SCSt 3.2 and later read for polled
	// suppliers (docs/conventions.md). Default: PollerConfig's defaults.
	Poller PollerConfig `mapstructure:"poller"`
	// Extensions holds the binder-specific sections stream.<binder-type>
	// (stream.kafka, stream.rabbit, ...), keyed by binder type.
	Extensions map[string]ExtensionConfig `mapstructure:",remain"`
	// ConnectionDefaults holds, by binder type, connection settings in the
	// binder's own keys that package config takes from Spring Boot's
	// namespaces (spring.rabbitmq.*, spring.kafka.bootstrap-servers). They
	// are defaults: the binder-type section (Extensions[type].Binder) and a
	// binder's environment win over them, and a binder with
	// inherit-environment false does not get them
	// (BinderConfig.InheritEnvironment). Not a key of the file.
	ConnectionDefaults map[string]map[string]any `mapstructure:"-"`

	// Origins maps lower-case key paths ("stream.bindings.x-in-0.group") to
	// where they were set ("application.yaml:12", "env STREAM_..."), for
	// error messages. Filled by package config; may be nil.
	Origins map[string]string `mapstructure:"-"`

	// Keys maps lower-case key paths, as Origins, to the keys as the
	// files wrote them where Origins says they were set
	// ("spring.cloud.stream.bindings.x-in-0.consumer.maxAttempts"), for
	// those whose spelling differs (see WrittenKey). Filled by package
	// config; may be nil.
	Keys map[string]string `mapstructure:"-"`

	// Placeholders maps the lower-case key paths of values that
	// placeholders filled in to their names ("${ATTEMPTS}", several comma
	// separated; never a default), so that a problem with such a value
	// names them (see NamePlaceholders). Filled by package config; may be
	// nil.
	Placeholders map[string]string `mapstructure:"-"`

	// Secrets hides, in a problem's message, the values that placeholders
	// naming secrets filled in (max-attempts: ${DB_PASSWORD}), wherever a
	// check shows them: String returns its argument with them hidden.
	// Filled by package config (config.Loaded.Secrets); may be nil.
	Secrets interface{ String(string) string } `mapstructure:"-" json:"-"`

	// NoConfigFile, when package config found no configuration file (no
	// application.yaml, .yml or .properties where it looked), says so and
	// where it looked: "no configuration file was found (looked for
	// ...)". As Spring Boot, streambind runs without one (on the
	// defaults and the environment): it is no problem by itself, but
	// NewApp adds it to the problems a missing file most likely causes (an
	// empty stream.function.definition with several functions registered,
	// no default binder among several). Filled by package config; may be
	// empty.
	NoConfigFile string `mapstructure:"-" json:"-"`

	// LoaderWarnings are package config's warnings (keys ignored, files
	// not read) when it had no logger to log them to
	// (config.Options.Logger unset): NewApp logs them, once, through the
	// app's logger (WithLogger, else slog.Default()), so that they reach
	// the log the app's own lines go to. Filled by package config; may be
	// nil.
	LoaderWarnings *LoaderWarnings `mapstructure:"-" json:"-"`
}

// NamePlaceholders adds to each problem in errs whose value placeholders
// filled in which ones they were ("expected an integer, got "abc"; value
// from ${ATTEMPTS}"): the file shows the placeholder, not the value. A
// binding's key inherited from stream.default is looked up there too.
// Values of placeholders naming secrets are hidden (Secrets).
func (c *Config) NamePlaceholders(errs ConfigErrors) {
	for _, e := range errs {
		c.namePlaceholders(e)
	}
}

func (c *Config) namePlaceholders(e *ConfigError) {
	if c != nil && c.Secrets != nil {
		e.Msg = c.Secrets.String(e.Msg)
	}
	if c == nil || len(c.Placeholders) == 0 {
		return
	}
	p := strings.ToLower(e.Path)
	f, ok := c.Placeholders[p]
	if !ok {
		if rest, isBinding := strings.CutPrefix(p, "stream.bindings."); isBinding {
			if _, key, cut := strings.Cut(rest, "."); cut {
				f, ok = c.Placeholders["stream.default."+key]
			}
		}
	}
	if ok && !strings.Contains(e.Msg, f) {
		e.Msg += "; value from " + f
	}
}

// FunctionConfig is stream.function.
type FunctionConfig struct {
	// Definition lists the functions to bind, "a;b;c"; "a|b" composes
	// ("a,b" too: Spring Cloud Function reads ',' as '|').
	// The name functionRouter binds the routing function (see
	// RoutingExpression and WithRoutingCallback). Empty binds the only
	// registered function, or none when none is registered: a process that
	// only sends (through the Bridge), started with a configuration file
	// that names another process's functions, runs with
	// STREAM_FUNCTION_DEFINITION= (set and empty) or a profile setting it
	// to '' (docs/operations.md, "A process that only sends").
	Definition string `mapstructure:"definition"`
	// RoutingExpression (SCSt spring.cloud.function.routing-expression)
	// is evaluated for each message of functionRouter-in-0 and names the
	// registered function or consumer that handles it; see
	// docs/conventions.md, "Event routing". Setting it binds
	// functionRouter even when the definition does not list it.
	RoutingExpression string        `mapstructure:"routing-expression"`
	Routing           RoutingConfig `mapstructure:"routing"`
	// Bindings renames functional bindings (SCSt
	// spring.cloud.stream.function.bindings): functional name → the name
	// the binding has, e.g. process-in-0: input. The binding is then
	// named, configured (stream.bindings.input), logged, reported by the
	// management endpoints and addressed (WithErrorHandler, the CLI's
	// --binding) by the new name only. Keys match case-insensitively.
	Bindings map[string]string `mapstructure:"bindings"`
	// Configuration is Spring Cloud Function's per-function configuration
	// (spring.cloud.function.configuration.<fn>), by function name: the
	// name of a bound function, or of a composition without its '|'
	// (toUpperaddTax), as SCF looks it up; see [FunctionSettings].
	Configuration map[string]FunctionSettings `mapstructure:"configuration"`
}

// FunctionBindingName returns the name of the functional binding
// functional ("process-in-0"): its new name when stream.function.bindings
// renames it, else functional itself.
//
// A composed function's bindings ("toUpper|addTax-in-0") also answer to
// the name SCSt gives them, without the '|' ("toUpperaddTax-in-0"; Spring
// Boot also drops the '|' of a map key that is not in brackets): a rename
// of that name applies, and a binding configured under that name only
// (stream.bindings.toUpperaddTax-in-0) is this binding, named so.
func (c *Config) FunctionBindingName(functional string) string {
	if n := c.renamedBinding(functional); n != "" {
		return n
	}
	if alt := SCStComposedBindingName(functional); alt != functional {
		if n := c.renamedBinding(alt); n != "" {
			return n
		}
		if _, ok := c.bindingKey(functional); !ok {
			if k, ok := c.bindingKey(alt); ok {
				return k
			}
		}
	}
	return functional
}

// SCStComposedBindingName returns the name SCSt gives the binding
// functional of a composed function: the function names without the '|'
// (and the blanks around it) that join them, "toUpper|addTax-in-0" →
// "toUpperaddTax-in-0". Other names are returned unchanged.
func SCStComposedBindingName(functional string) string {
	if !strings.Contains(functional, "|") {
		return functional
	}
	parts := strings.Split(functional, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, "")
}

// renamedBinding returns the new name stream.function.bindings gives
// functional (matched case-insensitively), or "".
func (c *Config) renamedBinding(functional string) string {
	if n, ok := c.Function.Bindings[functional]; ok && strings.TrimSpace(n) != "" {
		return strings.TrimSpace(n)
	}
	for k, n := range c.Function.Bindings {
		if strings.EqualFold(strings.TrimSpace(k), functional) && strings.TrimSpace(n) != "" {
			return strings.TrimSpace(n)
		}
	}
	return ""
}

// bindingKey returns the key of stream.bindings that names binding name
// (matched case-insensitively), as configured.
func (c *Config) bindingKey(name string) (string, bool) {
	if _, ok := c.Bindings[name]; ok {
		return name, true
	}
	for k := range c.Bindings {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// RoutingConfig is stream.function.routing.
type RoutingConfig struct {
	// Enabled binds functionRouter (SCSt
	// spring.cloud.stream.function.routing.enabled); the routing callback
	// (WithRoutingCallback) then names each message's function, or the
	// message does in the spring.cloud.function.definition header (or a
	// spring.cloud.function.routing-expression header). Default false.
	Enabled bool `mapstructure:"enabled"`
}

// BinderConfig is stream.binders.<name>.
type BinderConfig struct {
	// Type is the binder type (memory, kafka, rabbit, ...). Empty, it is
	// the binder's name (its key under Binders) when that is a registered
	// binder type, as in SCSt (stream.binders.nats.startup-timeout alone
	// declares a binder of type nats), and required otherwise.
	Type string `mapstructure:"type"`
	// Environment holds the binder's connection settings, decoded by the
	// binder itself.
	Environment map[string]any `mapstructure:"environment"`
	// StartupTimeout bounds how long start-up waits for this binder's
	// broker: a bind, or the start of an input binding, that fails with
	// [ErrUnavailable] is retried with back-off (100ms doubling to 5s)
	// while the app is "starting" and readiness answers 503, and start-up
	// fails once the binder has been unavailable that long in all (failed
	// attempts and the waits after them, summed over its bindings; a bind
	// or start that succeeds within what is left does not count, so
	// start-up may last up to about bindings × startup-timeout against a
	// slow but working broker).
	// Default 60s ([DefaultStartupTimeout]); a negative value waits for as
	// long as the app's context lasts. The same rule holds for every
	// binder type.
	StartupTimeout time.Duration `mapstructure:"startup-timeout"`
	// InheritEnvironment (SCSt BinderProperties.inheritEnvironment) says
	// whether the binder gets the application's own binder settings under
	// its environment: the Spring Boot connection settings
	// (spring.kafka.*, spring.rabbitmq.*; [Config.ConnectionDefaults]) and
	// the binder-type section stream.<type>.binder. The environment's keys
	// win over them key by key, client property maps (Kafka configuration,
	// consumer-properties, producer-properties) property by property, and
	// an address the environment sets (brokers, bootstrap-servers,
	// addresses, host, uri) drops every inherited address, the client
	// property bootstrap.servers included. Default true.
	// False: a binder with a non-empty environment sees only its
	// environment, as in SCSt, where the binder's child context then does
	// not merge the application's environment (DefaultBinderFactory); with
	// an empty environment it inherits anyway, as SCSt's binder context
	// then has the application's as parent. Binding sections
	// (stream.<type>.bindings, stream.<type>.default) apply either way.
	InheritEnvironment *bool `mapstructure:"inherit-environment"`
	// DefaultCandidate (SCSt BinderProperties.defaultCandidate) says
	// whether the binder may be the default binder, used by the bindings
	// that name none. False: it is used only by the bindings that name it,
	// and a binder declared only to be named so does not stop the one
	// other declared binder from being the default ([DefaultBinderOf]).
	// stream.default-binder still wins, even naming a binder that is not a
	// candidate (SCSt's DefaultBinderFactory checks candidates only when no
	// default binder is set). Default true.
	DefaultCandidate *bool `mapstructure:"default-candidate"`
}

// Inherits reports whether the binder inherits the application's binder
// settings (InheritEnvironment, default true; a binder with no
// environment always does).
func (b BinderConfig) Inherits() bool {
	return b.InheritEnvironment == nil || *b.InheritEnvironment || len(b.Environment) == 0
}

// Candidate reports whether the binder is a candidate for the default
// binder (DefaultCandidate, default true).
func (b BinderConfig) Candidate() bool {
	return b.DefaultCandidate == nil || *b.DefaultCandidate
}

// DefaultStartupTimeout is the default of stream.binders.<name>.startup-timeout.
const DefaultStartupTimeout = 60 * time.Second

// ExtensionConfig is a binder-specific section, stream.<binder-type>. Its
// maps are decoded (strictly) by the binder.
type ExtensionConfig struct {
	Binder   map[string]any                    `mapstructure:"binder"`
	Default  ExtensionBindingConfig            `mapstructure:"default"`
	Bindings map[string]ExtensionBindingConfig `mapstructure:"bindings"`
	// Aliases holds, by section ("producer", "consumer"), the sets of
	// names the binder type accepts for one setting ([[batch-timeout
	// linger]]; the config loader sets them from binder/props.Aliases): a
	// binding's own value under one name replaces the default section's
	// under another, as under another spelling of the same name.
	Aliases map[string][][]string `mapstructure:"-"`
}

// ExtensionBindingConfig is stream.<binder-type>.bindings.<name>.
type ExtensionBindingConfig struct {
	Consumer map[string]any `mapstructure:"consumer"`
	Producer map[string]any `mapstructure:"producer"`
}

// BindingConfig is stream.bindings.<name> (and stream.default).
type BindingConfig struct {
	// Destination defaults to the binding name; consumers may list several,
	// comma-separated in the one string ("a,b", as SCSt's String: a YAML
	// list here is refused, with the string to write).
	Destination string `mapstructure:"destination"`
	// Group is the consumer group; empty means anonymous.
	Group string `mapstructure:"group"`
	// Binder names the binder; default DefaultBinder.
	Binder string `mapstructure:"binder"`
	// ContentType defaults to application/json. A message's contentType
	// header wins over it. A function that takes or returns a typed payload
	// (not []byte or string) needs a converter for it: built in are
	// application/json (and +json types), text/plain and
	// application/octet-stream, others are registered in code
	// (WithConverter); start-up refuses an output binding otherwise, and
	// warns of an input binding (its messages' contentType headers may
	// pick a converter).
	ContentType string `mapstructure:"content-type"`
	// ErrorHandlerDefinition names the error handler of an input binding,
	// registered in code with WithNamedErrorHandler: called for each
	// message that failed every attempt (SCSt 4's error-handler-definition,
	// which names a Consumer<ErrorMessage> bean). An unknown name fails
	// start-up; a handler set for the binding with WithErrorHandler wins.
	ErrorHandlerDefinition string         `mapstructure:"error-handler-definition"`
	Consumer               ConsumerConfig `mapstructure:"consumer"`
	Producer               ProducerConfig `mapstructure:"producer"`
}

// ConsumerConfig is stream.bindings.<name>.consumer.
type ConsumerConfig struct {
	// Concurrency is the number of messages handled at once. Default 1,
	// at most 65536 (MaxConcurrency). Order is kept per partition (or key).
	Concurrency int `mapstructure:"concurrency"`
	// MaxAttempts counts the first attempt; 1 means no retry. Default 3.
	MaxAttempts int `mapstructure:"max-attempts"`
	// BackOffInitialInterval is the wait before the first retry. Default 1s.
	BackOffInitialInterval time.Duration `mapstructure:"back-off-initial-interval"`
	// BackOffMultiplier grows the wait after each retry. Default 2.0.
	BackOffMultiplier float64 `mapstructure:"back-off-multiplier"`
	// BackOffMaxInterval caps the wait. Default 10s.
	BackOffMaxInterval time.Duration `mapstructure:"back-off-max-interval"`
	// DLQ sends messages that failed every attempt to the dead-letter
	// destination instead of dropping them. Default false. SCSt's
	// enable-dlq (Kafka) and auto-bind-dlq (RabbitMQ) are accepted too.
	DLQ bool `mapstructure:"dlq"`
	// DeadLettersOf names another consumer binding of the app (one with a
	// group and dlq: true) whose dead letters this binding reads, on that
	// binding's binder: the binder says where they are (error.<destination>.<group>,
	// or RabbitMQ's <destination>.<group>.dlq queue), so the same setting
	// works on every binder. It replaces destination (which must not be
	// set) and, where the binder needs it, the group. Default "" (none).
	// Not inherited from stream.default.
	DeadLettersOf string `mapstructure:"dead-letters-of"`
	// Partitioned makes this consumer one of InstanceCount instances that
	// split the partitions; it receives those p with p % InstanceCount ==
	// InstanceIndex. Default false.
	Partitioned   bool `mapstructure:"partitioned"`
	InstanceIndex int  `mapstructure:"instance-index"`
	// InstanceCount defaults to 1.
	InstanceCount int `mapstructure:"instance-count"`
	// InstanceIndexList makes a partitioned consumer with a group read the
	// partitions of several instance indexes: one consumer is bound per
	// index (per destination), each as if it were instance-index, as
	// SCSt's instanceIndexList does; instance-index itself then chooses
	// no partition (it is still checked against instance-count). On
	// Kafka's group path (auto-rebalance-enabled true) each index's
	// consumer is a member of the group, which assigns the partitions, as
	// in SCSt. A list or comma-separated indexes ("0,2"), each in [0,
	// instance-count), no duplicates; a negative index is skipped with a
	// warning, as SCSt skips it (a list of negative ones only is an
	// error). Ignored, with a warning, when the consumer
	// is not partitioned or has no group (it reads every partition).
	// Default none.
	InstanceIndexList []int `mapstructure:"instance-index-list"`
	// BatchMode delivers slices to a function that takes one. Default false.
	BatchMode bool `mapstructure:"batch-mode"`
	// AutoStartup starts the binding with the app. Default true.
	AutoStartup *bool `mapstructure:"auto-startup"`
	// UseNativeDecoding hands the binder's payload bytes to the function
	// unconverted, whatever the content type: the function must take
	// []byte, string or a Message of one of them (checked at start-up).
	// Default false.
	UseNativeDecoding bool `mapstructure:"use-native-decoding"`
	// DefaultRetryable says whether an error that no entry of
	// RetryableExceptions matches is retried. Default true.
	DefaultRetryable *bool `mapstructure:"default-retryable"`
	// RetryableExceptions maps error names, registered in code with
	// [WithNamedError] or [WithNamedErrorAs], to whether errors matching
	// them are retried (false: straight to the DLQ). When several match,
	// false wins. Names are matched case-insensitively; an unknown name is
	// a configuration error. Default none.
	RetryableExceptions map[string]bool `mapstructure:"retryable-exceptions"`
	// RetryDelays turns retries into delayed redeliveries through the
	// broker (non-blocking retries, docs/retries.md): a failed message is
	// parked for the first delay while other messages keep flowing, then
	// delivered again; after a failure of the delivery following the last
	// delay it is dead-lettered (or dropped) as without this setting. Each
	// delivery gets one attempt: max-attempts and the back-off keys do not
	// apply. A list or comma-separated durations ("1s,10s,1m"), each
	// between 1ms and about 24.8 days, whole milliseconds. Not with
	// batch-mode. Supported by the memory, rabbit and kafka binders. Default none
	// (retries in process).
	RetryDelays []time.Duration `mapstructure:"retry-delays"`
	// HeaderMode is "headers" (the broker's native headers, the default)
	// or "none" (the function sees no headers; the content type is the
	// binding's). SCSt's "embeddedHeaders" is refused: every binder here
	// has native headers.
	HeaderMode string `mapstructure:"header-mode"`
	// Idempotency skips messages already processed (docs/idempotency.md).
	Idempotency IdempotencyConfig `mapstructure:"idempotency"`
	// MaxInFlight bounds pipelined processing: how many inputs a function
	// binding works on while the outputs of earlier ones are not yet
	// confirmed by the output's broker — per partition on Kafka, per
	// consumer worker on RabbitMQ (where prefetch bounds it too: the
	// window is min(max-in-flight, prefetch)). Inputs are still
	// acknowledged or committed in their order, each only after its output
	// was confirmed; outputs keep the inputs' order per partition and key
	// while no send fails. An input whose send fails is Nak'ed and handled
	// again (the function re-run) once it is the oldest unsettled one, so
	// its output can come after those of later inputs (docs/conventions.md,
	// "Pipelined processing"). 1 turns pipelining off (each output is
	// confirmed before the next input is handled; on RabbitMQ strict order
	// per key across a failed send also needs prefetch: 1, since a Nak'ed
	// message is requeued behind the prefetched ones). Applies where the
	// input's binder supports it (kafka, rabbit) and the output's producer
	// sends without waiting (kafka, rabbit, nats, redis), not to
	// consumers, batch-mode, idempotent bindings, Kafka's
	// ordering: key or Kafka retry topics; the "binding bound" log line
	// says whether a binding is pipelined. Default 256, at most 65536.
	MaxInFlight int `mapstructure:"max-in-flight"`
}

// Header modes (consumer.header-mode, producer.header-mode).
const (
	HeaderModeHeaders = "headers"
	HeaderModeNone    = "none"
)

// ProducerConfig is stream.bindings.<name>.producer.
type ProducerConfig struct {
	// PartitionKeyExpression selects the partition key: "payload.<field.path>",
	// "headers.<name>", "key" (a header named key, not the message's key:
	// a Message output's Key does not select the partition), or any
	// expression of the SpEL subset over payload and headers
	// ("headers['region'] + ':' + payload.customerId"; docs/conventions.md,
	// "Expressions"), compiled at start-up. It works on every binder, Kafka
	// included: the core selects the partition and sends it in the
	// scst_partition header, which each binder routes by (those listed
	// also read the expression to lay out their partitions). Default none.
	PartitionKeyExpression string `mapstructure:"partition-key-expression"`
	// PartitionKeyExtractorName names a key extractor registered in code
	// with [WithKeyExtractor]; it wins over the expression.
	PartitionKeyExtractorName string `mapstructure:"partition-key-extractor-name"`
	// PartitionSelectorExpression picks the partition from the key: an
	// expression of the SpEL subset whose root object is the key (so
	// "hashCode() % 4"; the key is also named key), yielding an integer
	// n; the partition is |n % partition-count|, as in SCSt. Default none:
	// the key's Java hashCode.
	PartitionSelectorExpression string `mapstructure:"partition-selector-expression"`
	// PartitionCount is the number of partitions. Default 1. Without a key
	// expression or extractor it does not partition the messages; binders
	// that size destinations (Kafka topics) still create this many
	// partitions, as SCSt does.
	PartitionCount int `mapstructure:"partition-count"`
	// RequiredGroups are provisioned before the first send, so that no
	// message is missed by a group whose consumer starts later.
	RequiredGroups []string `mapstructure:"required-groups"`
	// AutoStartup starts the binding with the app. Default true.
	AutoStartup *bool        `mapstructure:"auto-startup"`
	Poller      PollerConfig `mapstructure:"poller"`
	// UseNativeEncoding sends the function's output bytes unconverted:
	// the function must return []byte, string or a Message of one of them
	// (checked at start-up). Default false.
	UseNativeEncoding bool `mapstructure:"use-native-encoding"`
	// HeaderMode is "headers" (default) or "none": the message's headers
	// are not sent, and partitioning still works. The RabbitMQ, NATS and
	// Redis binders still write their own headers, such as the content
	// type; the Kafka binder writes no record headers at all, as SCSt's.
	// "embeddedHeaders" is refused.
	HeaderMode string `mapstructure:"header-mode"`
}

// PollerConfig says when a polled supplier (stream.AddSupplier) is called:
// SCSt's producer.poller, and Spring Integration's poller. A poll starts
// on the cron schedule when cron is set; else every fixed-rate when that
// is set; else fixed-delay after the previous poll ended. A poll calls the
// supplier up to max-messages-per-poll times, sending each value before
// the next call, and ends early when the supplier returns nothing (Skip,
// or a nil pointer, slice or map), as SCSt's poll ends at a null. A
// binding stopped and started again begins its schedule anew
// (initial-delay included), as SCSt's poller does. A binding's keys are
// taken key by key from stream.default; a binding that sets none (itself
// or through stream.default) uses the application-wide stream.poller
// (Config.Poller) instead.
type PollerConfig struct {
	// FixedDelay is the pause between the end of a poll and the start of
	// the next. Default 1s.
	FixedDelay time.Duration `mapstructure:"fixed-delay"`
	// FixedRate, when set, starts a poll every fixed-rate from the first
	// one's start, whatever the polls take (Spring Integration's
	// fixed-rate): a poll that overran starts the next at once, and polls
	// missed meanwhile follow one after the other, as in Spring. It wins
	// over fixed-delay. Default 0s (none).
	FixedRate time.Duration `mapstructure:"fixed-rate"`
	// InitialDelay is how long the first poll waits after the binding
	// started, with fixed-delay or fixed-rate; a cron schedule ignores it,
	// as Spring's does. Default 0.
	InitialDelay time.Duration `mapstructure:"initial-delay"`
	// MaxMessagesPerPoll is how many times a poll calls the supplier at
	// most; it ends sooner when the supplier returns nothing. Negative:
	// no limit (each poll calls it until it returns nothing). Default 1
	// (SCSt's); 0 is refused.
	MaxMessagesPerPoll int `mapstructure:"max-messages-per-poll"`
	// Cron, when set, starts a poll at each time this Spring cron
	// expression names, in the process's local time zone (TZ), after the
	// previous poll ended: six fields (second minute hour day-of-month
	// month day-of-week) with *, ? (day fields), ranges, lists, steps,
	// month and day names, 0 or 7 for Sunday, or one of the macros
	// @yearly, @annually, @monthly, @weekly, @daily, @midnight and
	// @hourly; a time matches when its day-of-month and its day-of-week
	// both match, as in Spring. Quartz's L, W and #, five fields, and an
	// expression that matches no time in the next five years are refused
	// with the reason. It wins over fixed-rate and fixed-delay. Default
	// none.
	Cron string `mapstructure:"cron"`
}

// validate reports p's problems through bad, at prefix+key.
func (p PollerConfig) validate(prefix string, bad func(key, msg string, args ...any)) {
	if p.FixedDelay < 0 {
		bad(prefix+"fixed-delay", "must not be negative, got %s", p.FixedDelay)
	}
	if p.FixedRate < 0 {
		bad(prefix+"fixed-rate", "must not be negative, got %s", p.FixedRate)
	}
	if p.InitialDelay < 0 {
		bad(prefix+"initial-delay", "must not be negative, got %s", p.InitialDelay)
	}
	if p.Cron != "" {
		if _, err := cron.Parse(p.Cron); err != nil {
			bad(prefix+"cron", "%v", err)
		}
	}
}

// ValidatePoller checks the application-wide Poller (stream.poller), once:
// a binding that polls on it does not report its problems again.
func (c *Config) ValidatePoller() []*ConfigError {
	var es []*ConfigError
	c.Poller.validate("stream.poller.", func(key, msg string, args ...any) {
		es = append(es, &ConfigError{Path: key, Origin: c.Origins[strings.ToLower(key)], Msg: fmt.Sprintf(msg, args...)})
	})
	return es
}

// Built-in defaults (docs/conventions.md).
const (
	DefaultBinderType                  = "memory"
	DefaultMaxAttempts                 = 3
	DefaultMaxInFlight                 = 256
	MaxMaxInFlight                     = 65536 // consumer.max-in-flight's upper bound
	MaxConcurrency                     = 65536 // consumer.concurrency's upper bound: a goroutine each (a consumer each on RabbitMQ)
	DefaultBackOffInitialInterval      = time.Second
	DefaultBackOffMultiplier           = 2.0
	DefaultBackOffMaxInterval          = 10 * time.Second
	DefaultPollerFixedDelay            = time.Second
	DefaultPollerMaxMessagesPerPoll    = 1
	DefaultShutdownTimeout             = 10 * time.Second
	DefaultDynamicDestinationCacheSize = 10
)

// IsPartitioned reports whether the producer selects partitions: a key
// expression or extractor is set (SCSt's rule; partition-count alone only
// sizes the destination).
func (p ProducerConfig) IsPartitioned() bool {
	return p.PartitionKeyExpression != "" || p.PartitionKeyExtractorName != ""
}

// IsRetryable reports whether consumer.default-retryable is true (the
// default).
func (c ConsumerConfig) IsRetryable() bool { return c.DefaultRetryable == nil || *c.DefaultRetryable }

// AutoStart reports whether the consumer starts with the app.
func (c ConsumerConfig) AutoStart() bool { return c.AutoStartup == nil || *c.AutoStartup }

// AutoStart reports whether the producer starts with the app.
func (p ProducerConfig) AutoStart() bool { return p.AutoStartup == nil || *p.AutoStartup }

// merged returns b with every unset field taken from d.
func (b BindingConfig) merged(d BindingConfig) BindingConfig {
	set := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	setInt := func(s *int, v int) {
		if *s == 0 {
			*s = v
		}
	}
	setDur := func(s *time.Duration, v time.Duration) {
		if *s == 0 {
			*s = v
		}
	}
	set(&b.Destination, d.Destination)
	set(&b.Group, d.Group)
	set(&b.Binder, d.Binder)
	set(&b.ContentType, d.ContentType)
	set(&b.ErrorHandlerDefinition, d.ErrorHandlerDefinition)
	c, dc := &b.Consumer, d.Consumer
	setInt(&c.Concurrency, dc.Concurrency)
	setInt(&c.MaxAttempts, dc.MaxAttempts)
	setInt(&c.MaxInFlight, dc.MaxInFlight)
	setDur(&c.BackOffInitialInterval, dc.BackOffInitialInterval)
	if c.BackOffMultiplier == 0 {
		c.BackOffMultiplier = dc.BackOffMultiplier
	}
	setDur(&c.BackOffMaxInterval, dc.BackOffMaxInterval)
	c.DLQ = c.DLQ || dc.DLQ
	c.Partitioned = c.Partitioned || dc.Partitioned
	setInt(&c.InstanceIndex, dc.InstanceIndex)
	setInt(&c.InstanceCount, dc.InstanceCount)
	if c.InstanceIndexList == nil {
		c.InstanceIndexList = dc.InstanceIndexList
	}
	c.BatchMode = c.BatchMode || dc.BatchMode
	if c.AutoStartup == nil {
		c.AutoStartup = dc.AutoStartup
	}
	c.UseNativeDecoding = c.UseNativeDecoding || dc.UseNativeDecoding
	if c.DefaultRetryable == nil {
		c.DefaultRetryable = dc.DefaultRetryable
	}
	if c.RetryableExceptions == nil {
		c.RetryableExceptions = dc.RetryableExceptions
	}
	if c.RetryDelays == nil {
		c.RetryDelays = dc.RetryDelays
	}
	set(&c.HeaderMode, dc.HeaderMode)
	c.Idempotency = c.Idempotency.merged(dc.Idempotency)
	p, dp := &b.Producer, d.Producer
	set(&p.PartitionKeyExpression, dp.PartitionKeyExpression)
	set(&p.PartitionKeyExtractorName, dp.PartitionKeyExtractorName)
	set(&p.PartitionSelectorExpression, dp.PartitionSelectorExpression)
	p.UseNativeEncoding = p.UseNativeEncoding || dp.UseNativeEncoding
	set(&p.HeaderMode, dp.HeaderMode)
	setInt(&p.PartitionCount, dp.PartitionCount)
	if p.RequiredGroups == nil {
		p.RequiredGroups = dp.RequiredGroups
	}
	if p.AutoStartup == nil {
		p.AutoStartup = dp.AutoStartup
	}
	// Key by key, as SCSt binds a binding's poller over stream.default's:
	// a cron there wins over a fixed-delay here (cron > fixed-rate >
	// fixed-delay), as in SCSt.
	set(&p.Poller.Cron, dp.Poller.Cron)
	setDur(&p.Poller.FixedRate, dp.Poller.FixedRate)
	setDur(&p.Poller.FixedDelay, dp.Poller.FixedDelay)
	setDur(&p.Poller.InitialDelay, dp.Poller.InitialDelay)
	setInt(&p.Poller.MaxMessagesPerPoll, dp.Poller.MaxMessagesPerPoll)
	return b
}

// builtinBindingDefaults are CONVENTIONS' defaults for a binding.
func builtinBindingDefaults() BindingConfig {
	return BindingConfig{
		ContentType: DefaultContentType,
		Consumer: ConsumerConfig{
			Concurrency:            1,
			MaxAttempts:            DefaultMaxAttempts,
			MaxInFlight:            DefaultMaxInFlight,
			BackOffInitialInterval: DefaultBackOffInitialInterval,
			BackOffMultiplier:      DefaultBackOffMultiplier,
			BackOffMaxInterval:     DefaultBackOffMaxInterval,
			InstanceCount:          1,
			Idempotency:            IdempotencyConfig{KeyExpression: DefaultIdempotencyKeyExpression, Retention: DefaultIdempotencyRetention},
		},
		Producer: ProducerConfig{
			PartitionCount: 1,
			Poller:         PollerConfig{FixedDelay: DefaultPollerFixedDelay, MaxMessagesPerPoll: DefaultPollerMaxMessagesPerPoll},
		},
	}
}

// configuredBinding reports whether stream.bindings configures name
// (matched case-insensitively).
func (c *Config) configuredBinding(name string) bool {
	if _, ok := c.Bindings[name]; ok {
		return true
	}
	for k := range c.Bindings {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// Binding returns the effective configuration of binding name: its own
// settings over stream.default over the built-in defaults, with the
// destination defaulting to the name and the binder to DefaultBinder. Binding
// names are matched case-insensitively (viper lower-cases keys).
//
// A bool or integer whose zero value is meaningful (dlq, partitioned,
// batch-mode: false; instance-index: 0) cannot tell "unset" from "set to
// zero" by itself; when the configuration came from package config, the
// binding's explicit setting wins over stream.default (found in Origins).
// For a Config built in code, stream.default's true wins.
func (c *Config) Binding(name string) BindingConfig {
	key := name
	own, ok := c.Bindings[name]
	if !ok {
		for k, v := range c.Bindings {
			if strings.EqualFold(k, name) {
				own, key = v, k
				break
			}
		}
	}
	b := own.merged(c.Default)
	if !c.setsPoller(key, own) {
		b.Producer.Poller = c.Poller
	}
	explicit := func(k string) bool {
		_, set := c.Origins[strings.ToLower("stream.bindings."+key+"."+k)]
		return set
	}
	if explicit("consumer.dlq") {
		b.Consumer.DLQ = own.Consumer.DLQ
	}
	if explicit("consumer.partitioned") {
		b.Consumer.Partitioned = own.Consumer.Partitioned
	}
	if explicit("consumer.batch-mode") {
		b.Consumer.BatchMode = own.Consumer.BatchMode
	}
	if explicit("consumer.instance-index") {
		b.Consumer.InstanceIndex = own.Consumer.InstanceIndex
	}
	if explicit("consumer.use-native-decoding") {
		b.Consumer.UseNativeDecoding = own.Consumer.UseNativeDecoding
	}
	if explicit("producer.use-native-encoding") {
		b.Producer.UseNativeEncoding = own.Producer.UseNativeEncoding
	}
	// stream.instance-index/-count are the defaults of every consumer's;
	// SCSt's -1 (a consumer's default) means "not set" too. Other negative
	// values are mistakes, which validation reports.
	if ci := &b.Consumer; ci.InstanceIndex == -1 || (ci.InstanceIndex == 0 && !explicit("consumer.instance-index") && !c.originSet("stream.default.consumer.instance-index")) {
		ci.InstanceIndex = c.InstanceIndex
	}
	if ci := &b.Consumer; ci.InstanceCount == 0 || ci.InstanceCount == -1 {
		ci.InstanceCount = c.InstanceCount
	}
	b = b.merged(builtinBindingDefaults())
	if b.Destination == "" {
		// SCSt's name of the binding: a composed function's without the
		// '|' (visible on the broker, where SCSt wins).
		b.Destination = SCStComposedBindingName(name)
	}
	if b.Binder == "" {
		b.Binder = c.defaultBinder()
	}
	return b
}

// InheritedProblem reports whether the problem at key, below the binding
// at bindingPath ("stream.bindings.x-in-0"), is that of an application-wide
// setting the binding inherits (neither it nor stream.default sets the
// key) and which is reported at that setting's own key:
// stream.instance-index or stream.instance-count, or stream.poller for an
// output binding that polls on it (ValidatePoller). One problem, one
// error, at the key the user wrote.
func (c *Config) InheritedProblem(bindingPath, key string) bool {
	rest, ok := strings.CutPrefix(strings.ToLower(key), strings.ToLower(bindingPath)+".")
	if !ok || c.originSet(key) || c.originSet("stream.default."+rest) {
		return false
	}
	if strings.HasPrefix(rest, "producer.poller.") {
		name := bindingPath[strings.LastIndex(bindingPath, "stream.bindings.")+len("stream.bindings."):]
		return c.UsesStreamPoller(name)
	}
	switch rest {
	case "consumer.instance-index":
		return c.InstanceIndex < 0 || c.InstanceIndex >= max(c.InstanceCount, 1)
	case "consumer.instance-count":
		return c.InstanceCount < 0
	}
	return false
}

// UsesStreamPoller reports whether output binding name polls on the
// application-wide Poller (stream.poller): neither it nor stream.default
// sets a producer.poller key.
func (c *Config) UsesStreamPoller(name string) bool {
	key, ok := c.bindingKey(name)
	if !ok {
		key = name
	}
	return !c.setsPoller(key, c.Bindings[key])
}

// setsPoller reports whether binding key (own, its section) has a
// producer.poller key set, itself or through stream.default: then its
// poller is its own, and the application-wide Poller is not used.
func (c *Config) setsPoller(key string, own BindingConfig) bool {
	if own.Producer.Poller != (PollerConfig{}) || c.Default.Producer.Poller != (PollerConfig{}) {
		return true
	}
	// A key set to its zero value (initial-delay: 0) sets it all the same.
	bp := strings.ToLower("stream.bindings." + key + ".producer.poller.")
	for o := range c.Origins {
		if strings.HasPrefix(o, bp) || strings.HasPrefix(o, "stream.default.producer.poller.") {
			return true
		}
	}
	return false
}

// WrittenKey returns the key a problem at path, set at origin, names as
// the configuration wrote it (a [ConfigError]'s Key): the written
// spelling of path, or of the nearest key above it that has an origin,
// the rest of path appended, or of the stream.default key a binding's
// path inherits, when its origin is origin. "" when that is path itself,
// when origin is not where the key was set (a variable that overrides a
// file), or when no key on the way was written otherwise.
func (c *Config) WrittenKey(path, origin string) string {
	if path == "" || origin == "" || c == nil || len(c.Keys) == 0 {
		return ""
	}
	lower := strings.ToLower(path)
	if len(lower) != len(path) {
		path = lower // a rune whose lower case is longer: no slicing of path by lower's offsets
	}
	// written is the key at p (a prefix of lower) as written, path's
	// rest appended; as is ("" when that is path) without a spelling.
	written := func(p, as string) string {
		if c.Origins[p] != origin {
			return ""
		}
		w, ok := c.Keys[p]
		if !ok {
			w = as
		}
		if w += path[len(p):]; w == path {
			return ""
		}
		return w
	}
	if _, ok := c.Origins[lower]; ok {
		return written(lower, path)
	}
	if rest, ok := strings.CutPrefix(lower, "stream.bindings."); ok {
		// A binding's value inherited from stream.default (a binding's
		// name may hold dots: each split tried, as config's origins).
		for i := 0; i < len(rest); i++ {
			if rest[i] != '.' {
				continue
			}
			if d := "stream.default." + rest[i+1:]; c.Origins[d] != "" {
				if c.Origins[d] != origin {
					return ""
				}
				if w, ok := c.Keys[d]; ok {
					return w
				}
				return "stream.default." + path[len(path)-len(rest)+i+1:]
			}
		}
	}
	for p := lower; ; {
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			return ""
		}
		p = p[:i]
		if !strings.ContainsAny(p, ".[") {
			return ""
		}
		if _, ok := c.Origins[p]; ok {
			return written(p, path[:len(p)])
		}
	}
}

// originSet reports whether the configuration set key (lower-case path).
func (c *Config) originSet(key string) bool {
	_, ok := c.Origins[strings.ToLower(key)]
	return ok
}

// defaultBinder is the binder of the bindings that name none when the
// App has not chosen it (NewApp writes its choice to DefaultBinder):
// default-binder, else the one default candidate among the declared
// binders (DefaultBinderOf's rule, without the registered types), else
// the in-process binder.
func (c *Config) defaultBinder() string {
	if c.DefaultBinder != "" {
		return c.DefaultBinder
	}
	if cs := DefaultCandidates(c); len(cs) == 1 {
		return cs[0]
	}
	return DefaultBinderType
}

// Extension returns the binder-specific consumer and producer maps of a
// binding for binder type typ (default section, then the binding's own).
func (c *Config) Extension(typ, binding string) (consumer, producer map[string]any) {
	ext, ok := c.Extensions[typ]
	if !ok {
		return nil, nil
	}
	own := ext.Bindings[binding]
	if own.Consumer == nil && own.Producer == nil {
		// A composed function's binding (a|b-in-0) also answers to SCSt's
		// name for it, without the '|' (ab-in-0), as under stream.bindings
		// (FunctionBindingName): an SCSt file configures it so.
		alt := SCStComposedBindingName(binding)
		for k, v := range ext.Bindings {
			if strings.EqualFold(k, binding) {
				own = v
				break
			}
			if strings.EqualFold(k, alt) {
				own = v
			}
		}
	}
	return mergeMaps(ext.Default.Consumer, own.Consumer, ext.Aliases["consumer"]), mergeMaps(ext.Default.Producer, own.Producer, ext.Aliases["producer"])
}

// mergeMaps deep-merges over onto base into a new map. Keys are property
// names in any of Spring's spellings, so a key of over replaces base's key
// of the same name however either is spelt (squashKey: deliveryLimit,
// delivery-limit, deliverylimit from an environment variable); keeping
// both would leave the binder's decoder to pick one by sort order, and a
// default could beat the binding's own value. The same holds for the
// names of one setting in aliases (sets of names, at the top level of the
// maps): the default's linger goes when the binding sets batch-timeout.
func mergeMaps(base, over map[string]any, aliases [][]string) map[string]any {
	if base == nil && over == nil {
		return nil
	}
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		var prev any
		sk := settingKey(k, aliases)
		for bk, bv := range base {
			if settingKey(bk, aliases) == sk {
				prev = bv
				delete(out, bk)
			}
		}
		if bm, ok := prev.(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = mergeMaps(bm, om, nil)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// settingKey is k squashed (squashKey), or, for a name in one of the sets
// of aliases, the first name of its set squashed.
func settingKey(k string, aliases [][]string) string {
	sk := squashKey(k)
	for _, set := range aliases {
		for _, n := range set {
			if squashKey(n) == sk {
				return squashKey(set[0])
			}
		}
	}
	return sk
}

// Validate checks the values of a (merged) binding configuration; path is
// its key path, e.g. "stream.bindings.x-in-0".
func (b BindingConfig) Validate(path string) []*ConfigError {
	var es []*ConfigError
	bad := func(key, msg string, args ...any) {
		es = append(es, &ConfigError{Path: path + "." + key, Msg: fmt.Sprintf(msg, args...)})
	}
	c := b.Consumer
	if c.Concurrency < 1 {
		bad("consumer.concurrency", "must be at least 1, got %d", c.Concurrency)
	} else if c.Concurrency > MaxConcurrency {
		// A typo's extra digits must not start a hundred million
		// goroutines (the in-process binder runs one per unit).
		bad("consumer.concurrency", "must be at most %d (each is a goroutine of its own), got %d", MaxConcurrency, c.Concurrency)
	}
	if c.MaxAttempts < 1 {
		bad("consumer.max-attempts", "must be at least 1, got %d", c.MaxAttempts)
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > MaxMaxInFlight {
		bad("consumer.max-in-flight", "must be between 1 and %d, got %d", MaxMaxInFlight, c.MaxInFlight)
	}
	if c.BackOffInitialInterval < 0 {
		bad("consumer.back-off-initial-interval", "must not be negative, got %s", c.BackOffInitialInterval)
	}
	if c.BackOffMultiplier < 1 {
		bad("consumer.back-off-multiplier", "must be at least 1.0, got %g", c.BackOffMultiplier)
	}
	if c.BackOffMaxInterval < c.BackOffInitialInterval {
		bad("consumer.back-off-max-interval", "must not be below back-off-initial-interval (%s), got %s", c.BackOffInitialInterval, c.BackOffMaxInterval)
	}
	// SCSt's instanceCount and partitionCount are Java ints; beyond one
	// the partition arithmetic (an int32 hash % count) breaks.
	if c.InstanceCount < 1 {
		bad("consumer.instance-count", "must be at least 1, got %d", c.InstanceCount)
	} else if c.InstanceCount > math.MaxInt32 {
		bad("consumer.instance-count", "must be at most %d, got %d", math.MaxInt32, c.InstanceCount)
	}
	if c.InstanceIndex < 0 || c.InstanceIndex >= c.InstanceCount {
		bad("consumer.instance-index", "must be in [0, instance-count=%d), got %d", c.InstanceCount, c.InstanceIndex)
	}
	validateInstanceIndexList(c, bad)
	p := b.Producer
	if p.PartitionCount < 1 {
		bad("producer.partition-count", "must be at least 1, got %d", p.PartitionCount)
	} else if p.PartitionCount > math.MaxInt32 {
		bad("producer.partition-count", "must be at most %d, got %d", math.MaxInt32, p.PartitionCount)
	}
	if e := p.PartitionKeyExpression; e != "" {
		if _, err := compileKeyExpression(e); err != nil {
			bad("producer.partition-key-expression", "%v", err)
		}
	}
	if e := p.PartitionSelectorExpression; e != "" {
		if _, err := compileSelectorExpression(e); err != nil {
			bad("producer.partition-selector-expression", "%v", err)
		} else if p.PartitionKeyExpression == "" && p.PartitionKeyExtractorName == "" {
			bad("producer.partition-selector-expression", "selects a partition from the key, but neither partition-key-expression nor partition-key-extractor-name is set")
		}
	}
	checkHeaderMode := func(key, m string) {
		switch m {
		case "", HeaderModeHeaders, HeaderModeNone:
		case "embeddedHeaders", "embeddedheaders", "embedded-headers":
			bad(key, "embeddedHeaders is not supported: it embeds headers in the payload for brokers without native headers (SCSt 1.x), and every binder here has native headers; use headers (the default) or none")
		default:
			bad(key, "must be headers or none, got %q", m)
		}
	}
	checkHeaderMode("consumer.header-mode", c.HeaderMode)
	validateRetryDelays(c, bad)
	es = append(es, c.Idempotency.validate(path+".consumer", c.BatchMode)...)
	checkHeaderMode("producer.header-mode", p.HeaderMode)
	p.Poller.validate("producer.poller.", bad)
	if _, _, err := ParseMediaType(b.ContentType); err != nil {
		bad("content-type", "%v", err)
	}
	return es
}
