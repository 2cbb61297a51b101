package memory

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// Type is the binder type name the memory binder is registered under.
const Type = "memory"

// Defaults of [Config] and of the binder settings.
const (
	DefaultBufferSize      = 1024
	DefaultBatchSize       = 64
	DefaultRedeliveryDelay = 50 * time.Millisecond
)

// lookahead bounds how far a worker looks past messages whose ordering slot
// another worker owns (see the package doc).
const lookahead = 256

// Config configures a [Broker]. A zero field takes its default.
type Config struct {
	// BufferSize is the capacity of each queue, in messages, unless the
	// binder that provisions the queue sets buffer-size. Default 1024.
	BufferSize int
	// BatchSize is the largest batch given to a batch-mode consumer, unless
	// its binder sets batch-size. Default 64.
	BatchSize int
	// RedeliveryDelay is how long a Nak'ed message is held back before it is
	// put back in its queue (Stop cuts it short). Default 50ms.
	RedeliveryDelay time.Duration
	// Logger logs for the binders on the broker that were given no logger
	// in their settings, and for their bindings without one; nil discards.
	Logger *slog.Logger
}

// Validate reports the first invalid field of c. Zero fields are valid (they
// mean "default").
func (c Config) Validate() error {
	if c.BufferSize < 0 {
		return fmt.Errorf("memory: buffer size must not be negative, got %d", c.BufferSize)
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("memory: batch size must not be negative, got %d", c.BatchSize)
	}
	if c.RedeliveryDelay < 0 {
		return fmt.Errorf("memory: redelivery delay must not be negative, got %s", c.RedeliveryDelay)
	}
	return nil
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.BufferSize == 0 {
		c.BufferSize = DefaultBufferSize
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.RedeliveryDelay == 0 {
		c.RedeliveryDelay = DefaultRedeliveryDelay
	}
	if c.Logger == nil {
		c.Logger = discardLogger
	}
	return c
}

// discardLogger is used wherever no logger was given. It is immutable.
var discardLogger = slog.New(slog.DiscardHandler)

// settings are the binder settings decoded from stream.BinderSettings; zero
// means "the broker's default".
type settings struct {
	bufferSize int
	batchSize  int
}

// parseSettings decodes s.Binder (stream.<type>.binder) and then
// s.Environment (stream.binders.<name>.environment), which wins. Keys are
// matched ignoring case, '-' and '_', so kebab-case, camelCase and the
// lower-cased keys of a config loader all work. Every problem is reported,
// as a [stream.ConfigErrors].
func parseSettings(s stream.BinderSettings) (settings, error) {
	var out settings
	var d props.Decoder
	for _, src := range props.BinderSources(s, Type) {
		d.Each(src.Path, src.Map, func(k, _ string, v any) (err error) {
			switch k {
			case "buffersize":
				out.bufferSize, err = props.Int(v, 1)
			case "batchsize":
				out.batchSize, err = props.Int(v, 1)
			default:
				err = props.UnknownKey("the memory binder accepts buffer-size and batch-size")
			}
			return err
		})
	}
	if err := d.Err(); err != nil {
		return settings{}, fmt.Errorf("memory binder %q: %w", s.Name, err)
	}
	return out, nil
}

// extensionErrors reports every key of a binding's memory-specific section,
// which must be empty.
func extensionErrors(binding, kind string, ext map[string]any) error {
	var d props.Decoder
	d.Each(props.BindingPath(Type, binding, kind), ext, func(string, string, any) error {
		return props.UnknownKey("the memory binder has no binding properties")
	})
	return d.Err()
}
