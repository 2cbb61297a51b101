package memory

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

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
	var errs stream.ConfigErrors
	typ := s.Type
	if typ == "" {
		typ = Type
	}
	envPath := "environment"
	if s.Name != "" {
		envPath = "stream.binders." + s.Name + ".environment"
	}
	for _, src := range []struct {
		path string
		m    map[string]any
	}{{"stream." + typ + ".binder", s.Binder}, {envPath, s.Environment}} {
		for _, k := range sortedKeys(src.m) {
			path := src.path + "." + k
			var dst *int
			switch normKey(k) {
			case "buffersize":
				dst = &out.bufferSize
			case "batchsize":
				dst = &out.batchSize
			default:
				errs = append(errs, &stream.ConfigError{Path: path, Msg: "unknown key (the memory binder accepts buffer-size and batch-size)"})
				continue
			}
			n, err := positiveInt(src.m[k])
			if err != nil {
				errs = append(errs, &stream.ConfigError{Path: path, Msg: err.Error()})
				continue
			}
			*dst = n
		}
	}
	if err := errs.Err(); err != nil {
		return settings{}, fmt.Errorf("memory binder %q: %w", s.Name, err)
	}
	return out, nil
}

// normKey lower-cases k and drops '-' and '_'.
func normKey(k string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' {
			return -1
		}
		return r
	}, strings.ToLower(k))
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// positiveInt accepts an integer of any Go integer type, an integral
// float (as YAML and JSON decoders produce), a json.Number or a string of
// digits, and requires it to be at least 1.
func positiveInt(v any) (int, error) {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int8:
		n = int64(x)
	case int16:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint:
		n = clampUint(uint64(x))
	case uint8:
		n = int64(x)
	case uint16:
		n = int64(x)
	case uint32:
		n = int64(x)
	case uint64:
		n = clampUint(x)
	case float32:
		return positiveInt(float64(x))
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, fmt.Errorf("want a whole number, got %v", x)
		}
		if x > math.MaxInt32 {
			x = math.MaxInt32
		}
		n = int64(x)
	case json.Number:
		return positiveInt(string(x))
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("want a whole number, got %q", x)
		}
		n = i
	default:
		return 0, fmt.Errorf("want a whole number, got %T %v", v, v)
	}
	if n < 1 {
		return 0, fmt.Errorf("must be at least 1, got %d", n)
	}
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("must be at most %d, got %d", math.MaxInt32, n)
	}
	return int(n), nil
}

func clampUint(u uint64) int64 {
	if u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(u)
}

// extensionErrors reports every key of a binding's memory-specific section,
// which must be empty.
func extensionErrors(binding, kind string, ext map[string]any) error {
	if len(ext) == 0 {
		return nil
	}
	var errs stream.ConfigErrors
	for _, k := range sortedKeys(ext) {
		errs = append(errs, &stream.ConfigError{
			Path: "stream." + Type + ".bindings." + binding + "." + kind + "." + k,
			Msg:  "unknown key (the memory binder has no binding properties)",
		})
	}
	return errs
}
