package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/streambind/streambind/stream"
)

// Defaults of the binder settings and binding properties (see the package
// doc for what each one means).
const (
	DefaultBrokers           = "localhost:9092"
	DefaultClientID          = "streambind"
	DefaultMinPartitionCount = 1
	DefaultReplicationFactor = -1 // the broker's default.replication.factor
	DefaultDialTimeout       = 10 * time.Second
	DefaultHeartbeatInterval = time.Second
	DefaultSessionTimeout    = 10 * time.Second
	DefaultRebalanceTimeout  = 10 * time.Second
	DefaultCloseTimeout      = 5 * time.Second

	DefaultBatchTimeout = 0 // no linger: natural batching (see the package doc)
	DefaultBatchSize    = 1000
	DefaultBatchBytes   = 1 << 20
	DefaultWriteTimeout = 10 * time.Second
	DefaultSendAttempts = 10

	DefaultMaxWait         = 250 * time.Millisecond
	DefaultMaxBytes        = 10 << 20
	DefaultQueueCapacity   = 256
	DefaultConsumerBatch   = 500
	DefaultRedeliveryDelay = 100 * time.Millisecond
)

// settings are the binder-wide settings.
type settings struct {
	brokers           []string
	clientID          string
	requiredAcks      kafkago.RequiredAcks
	autoCreateTopics  bool
	autoAddPartitions bool
	minPartitionCount int
	replicationFactor int
	dialTimeout       time.Duration
	heartbeat         time.Duration
	sessionTimeout    time.Duration
	rebalanceTimeout  time.Duration
	closeTimeout      time.Duration
	tls               *tls.Config
	sasl              sasl.Mechanism
	// secrets are strings that must never appear in an error or log line
	// (the SASL password).
	secrets []string
}

func defaultSettings() settings {
	return settings{
		brokers:           []string{DefaultBrokers},
		clientID:          DefaultClientID,
		requiredAcks:      kafkago.RequireAll,
		autoCreateTopics:  true,
		minPartitionCount: DefaultMinPartitionCount,
		replicationFactor: DefaultReplicationFactor,
		dialTimeout:       DefaultDialTimeout,
		heartbeat:         DefaultHeartbeatInterval,
		sessionTimeout:    DefaultSessionTimeout,
		rebalanceTimeout:  DefaultRebalanceTimeout,
		closeTimeout:      DefaultCloseTimeout,
	}
}

// producerSettings are a producer binding's Kafka properties.
type producerSettings struct {
	batchTimeout time.Duration
	batchSize    int
	batchBytes   int
	compression  compress.Compression
	writeTimeout time.Duration
	sendAttempts int
}

func defaultProducerSettings() producerSettings {
	return producerSettings{
		batchTimeout: DefaultBatchTimeout,
		batchSize:    DefaultBatchSize,
		batchBytes:   DefaultBatchBytes,
		writeTimeout: DefaultWriteTimeout,
		sendAttempts: DefaultSendAttempts,
	}
}

// consumerSettings are a consumer binding's Kafka properties.
type consumerSettings struct {
	startOffset     int64 // 0: by group (earliest for named, latest for anonymous)
	resetOffsets    bool
	dlqName         string
	maxWait         time.Duration
	maxBytes        int
	queueCapacity   int
	batchSize       int
	redeliveryDelay time.Duration
}

func defaultConsumerSettings() consumerSettings {
	return consumerSettings{
		maxWait:         DefaultMaxWait,
		maxBytes:        DefaultMaxBytes,
		queueCapacity:   DefaultQueueCapacity,
		batchSize:       DefaultConsumerBatch,
		redeliveryDelay: DefaultRedeliveryDelay,
	}
}

// decoder decodes one untyped map strictly, collecting every problem.
type decoder struct {
	errs stream.ConfigErrors
}

func (d *decoder) bad(path, format string, args ...any) {
	d.errs = append(d.errs, &stream.ConfigError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// each calls f for every key of m in sorted order with the normalised key;
// f returns false for an unknown key, which is reported with known.
func (d *decoder) each(path string, m map[string]any, known string, f func(norm, path string, v any) bool) {
	for _, k := range sortedKeys(m) {
		p := path + "." + k
		if !f(normKey(k), p, m[k]) {
			d.bad(p, "unknown key (known: %s)", known)
		}
	}
}

func (d *decoder) str(path string, v any, dst *string) {
	switch x := v.(type) {
	case string:
		*dst = strings.TrimSpace(x)
	case fmt.Stringer:
		*dst = x.String()
	case int, int64, float64, bool:
		*dst = fmt.Sprint(x)
	default:
		d.bad(path, "want a string, got %T", v)
	}
}

func (d *decoder) boolean(path string, v any, dst *bool) {
	switch x := v.(type) {
	case bool:
		*dst = x
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			d.bad(path, "want true or false, got %q", x)
			return
		}
		*dst = b
	default:
		d.bad(path, "want true or false, got %T %v", v, v)
	}
}

func (d *decoder) integer(path string, v any, min int, dst *int) {
	n, err := toInt(v)
	if err != nil {
		d.bad(path, "%v", err)
		return
	}
	if n < min {
		d.bad(path, "must be at least %d, got %d", min, n)
		return
	}
	*dst = n
}

// duration accepts a Go duration string or a bare integer of milliseconds
// (CONVENTIONS).
func (d *decoder) duration(path string, v any, allowZero bool, dst *time.Duration) {
	var out time.Duration
	switch x := v.(type) {
	case time.Duration:
		out = x
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			out = time.Duration(n) * time.Millisecond
		} else if dd, err := time.ParseDuration(s); err == nil {
			out = dd
		} else {
			d.bad(path, "want a duration such as 250ms, got %q", x)
			return
		}
	default:
		n, err := toInt(v)
		if err != nil {
			d.bad(path, "want a duration such as 250ms, got %T %v", v, v)
			return
		}
		out = time.Duration(n) * time.Millisecond
	}
	if out < 0 || (out == 0 && !allowZero) {
		d.bad(path, "must be positive, got %s", out)
		return
	}
	*dst = out
}

func (d *decoder) list(path string, v any) []string {
	var raw []string
	switch x := v.(type) {
	case string:
		raw = strings.Split(x, ",")
	case []string:
		raw = x
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				d.bad(path, "want a list of strings, got an element %T", e)
				return nil
			}
			raw = append(raw, strings.Split(s, ",")...)
		}
	default:
		d.bad(path, "want a comma-separated string or a list, got %T", v)
		return nil
	}
	var out []string
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) submap(path string, v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return x
	case nil:
		return nil
	default:
		d.bad(path, "want a map, got %T", v)
		return nil
	}
}

const binderKeys = "brokers, client-id, required-acks, auto-create-topics, auto-add-partitions, min-partition-count, replication-factor, dial-timeout, heartbeat-interval, session-timeout, rebalance-timeout, close-timeout, tls, sasl"

// securitySource is what the TLS and SASL settings are built from.
type securitySource struct {
	tlsSet                                bool
	tlsEnabled                            *bool
	caFile, certFile, keyFile, serverName string
	skipVerify                            bool
	saslSet                               bool
	mechanism, username, password         string
}

// parseSettings decodes s.Binder (stream.kafka.binder) and then
// s.Environment (stream.binders.<name>.environment), which wins. Keys are
// matched ignoring case, '-' and '_'.
func parseSettings(s stream.BinderSettings) (settings, error) {
	out := defaultSettings()
	var d decoder
	var sec securitySource
	envPath := "environment"
	if s.Name != "" {
		envPath = "stream.binders." + s.Name + ".environment"
	}
	typ := s.Type
	if typ == "" {
		typ = Type
	}
	for _, src := range []struct {
		path string
		m    map[string]any
	}{{"stream." + typ + ".binder", s.Binder}, {envPath, s.Environment}} {
		d.each(src.path, src.m, binderKeys, func(k, p string, v any) bool {
			switch k {
			case "brokers", "bootstrapservers":
				if l := d.list(p, v); len(l) > 0 {
					out.brokers = l
				} else if len(d.errs) == 0 {
					d.bad(p, "no broker address")
				}
			case "clientid":
				d.str(p, v, &out.clientID)
			case "requiredacks", "acks":
				var a string
				d.str(p, v, &a)
				switch strings.ToLower(a) {
				case "all", "-1":
					out.requiredAcks = kafkago.RequireAll
				case "1", "one", "leader":
					out.requiredAcks = kafkago.RequireOne
				case "0", "none":
					out.requiredAcks = kafkago.RequireNone
				default:
					if a != "" || len(d.errs) == 0 {
						d.bad(p, "want all, 1 or 0, got %q", a)
					}
				}
			case "autocreatetopics":
				d.boolean(p, v, &out.autoCreateTopics)
			case "autoaddpartitions":
				d.boolean(p, v, &out.autoAddPartitions)
			case "minpartitioncount":
				d.integer(p, v, 1, &out.minPartitionCount)
			case "replicationfactor":
				var n int
				d.integer(p, v, -1, &n)
				if n == 0 {
					d.bad(p, "must be -1 (broker default) or at least 1, got 0")
				} else {
					out.replicationFactor = n
				}
			case "dialtimeout":
				d.duration(p, v, false, &out.dialTimeout)
			case "heartbeatinterval":
				d.duration(p, v, false, &out.heartbeat)
			case "sessiontimeout":
				d.duration(p, v, false, &out.sessionTimeout)
			case "rebalancetimeout":
				d.duration(p, v, false, &out.rebalanceTimeout)
			case "closetimeout":
				d.duration(p, v, false, &out.closeTimeout)
			case "tls":
				sec.tlsSet = true
				d.each(p, d.submap(p, v), "enabled, ca-file, cert-file, key-file, server-name, insecure-skip-verify", func(k, p string, v any) bool {
					switch k {
					case "enabled":
						var b bool
						d.boolean(p, v, &b)
						sec.tlsEnabled = &b
					case "cafile":
						d.str(p, v, &sec.caFile)
					case "certfile":
						d.str(p, v, &sec.certFile)
					case "keyfile":
						d.str(p, v, &sec.keyFile)
					case "servername":
						d.str(p, v, &sec.serverName)
					case "insecureskipverify", "skipverify":
						d.boolean(p, v, &sec.skipVerify)
					default:
						return false
					}
					return true
				})
			case "sasl":
				sec.saslSet = true
				d.each(p, d.submap(p, v), "mechanism, username, password", func(k, p string, v any) bool {
					switch k {
					case "mechanism":
						d.str(p, v, &sec.mechanism)
					case "username", "user":
						d.str(p, v, &sec.username)
					case "password":
						// Never echo the value, not even in a type error.
						if s, ok := v.(string); ok {
							sec.password = s
						} else {
							d.bad(p, "want a string")
						}
					default:
						return false
					}
					return true
				})
			default:
				return false
			}
			return true
		})
	}
	if sec.password != "" {
		out.secrets = append(out.secrets, sec.password)
	}
	buildSecurity(&d, envPath, sec, &out)
	if err := d.errs.Err(); err != nil {
		return settings{}, fmt.Errorf("kafka binder %q: %w", s.Name, redact(err, out.secrets))
	}
	return out, nil
}

func buildSecurity(d *decoder, path string, sec securitySource, out *settings) {
	if sec.tlsSet && (sec.tlsEnabled == nil || *sec.tlsEnabled) {
		c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: sec.serverName, InsecureSkipVerify: sec.skipVerify} //nolint:gosec // skip-verify is an explicit opt-in
		if sec.caFile != "" {
			pem, err := os.ReadFile(sec.caFile)
			if err != nil {
				d.bad(path+".tls.ca-file", "%v", err)
			} else {
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pem) {
					d.bad(path+".tls.ca-file", "no PEM certificate in %s", sec.caFile)
				}
				c.RootCAs = pool
			}
		}
		switch {
		case sec.certFile != "" && sec.keyFile != "":
			cert, err := tls.LoadX509KeyPair(sec.certFile, sec.keyFile)
			if err != nil {
				d.bad(path+".tls.cert-file", "loading the client certificate: %v", err)
			} else {
				c.Certificates = []tls.Certificate{cert}
			}
		case sec.certFile != "" || sec.keyFile != "":
			d.bad(path+".tls", "cert-file and key-file go together")
		}
		out.tls = c
	}
	if sec.saslSet {
		if sec.username == "" {
			d.bad(path+".sasl.username", "required with sasl")
		}
		switch strings.ToUpper(strings.ReplaceAll(sec.mechanism, "_", "-")) {
		case "PLAIN", "":
			out.sasl = plain.Mechanism{Username: sec.username, Password: sec.password}
		case "SCRAM-SHA-256", "SCRAM-SHA-512":
			algo := scram.SHA256
			if strings.HasSuffix(sec.mechanism, "512") {
				algo = scram.SHA512
			}
			m, err := scram.Mechanism(algo, sec.username, sec.password)
			if err != nil {
				d.bad(path+".sasl", "%v", err)
			} else {
				out.sasl = m
			}
		default:
			d.bad(path+".sasl.mechanism", "want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %q", sec.mechanism)
		}
	}
}

const producerKeys = "batch-timeout, batch-size, batch-bytes, compression, write-timeout, send-attempts"

func parseProducer(binding string, ext map[string]any) (producerSettings, error) {
	out := defaultProducerSettings()
	var d decoder
	d.each("stream."+Type+".bindings."+binding+".producer", ext, producerKeys, func(k, p string, v any) bool {
		switch k {
		case "batchtimeout", "linger":
			d.duration(p, v, true, &out.batchTimeout)
		case "batchsize":
			d.integer(p, v, 1, &out.batchSize)
		case "batchbytes":
			d.integer(p, v, 1, &out.batchBytes)
		case "writetimeout":
			d.duration(p, v, false, &out.writeTimeout)
		case "sendattempts":
			d.integer(p, v, 1, &out.sendAttempts)
		case "compression", "compressiontype":
			var s string
			d.str(p, v, &s)
			switch strings.ToLower(s) {
			case "", "none":
				out.compression = 0
			case "gzip":
				out.compression = compress.Gzip
			case "snappy":
				out.compression = compress.Snappy
			case "lz4":
				out.compression = compress.Lz4
			case "zstd":
				out.compression = compress.Zstd
			default:
				d.bad(p, "want none, gzip, snappy, lz4 or zstd, got %q", s)
			}
		default:
			return false
		}
		return true
	})
	return out, d.errs.Err()
}

const consumerKeys = "start-offset, reset-offsets, dlq-name, max-wait, max-bytes, queue-capacity, batch-size, redelivery-delay"

func parseConsumer(binding string, ext map[string]any) (consumerSettings, error) {
	out := defaultConsumerSettings()
	var d decoder
	d.each("stream."+Type+".bindings."+binding+".consumer", ext, consumerKeys, func(k, p string, v any) bool {
		switch k {
		case "startoffset":
			var s string
			d.str(p, v, &s)
			switch strings.ToLower(s) {
			case "earliest", "first", "oldest":
				out.startOffset = kafkago.FirstOffset
			case "latest", "last", "newest":
				out.startOffset = kafkago.LastOffset
			default:
				d.bad(p, "want earliest or latest, got %q", s)
			}
		case "resetoffsets":
			d.boolean(p, v, &out.resetOffsets)
		case "dlqname":
			d.str(p, v, &out.dlqName)
		case "maxwait":
			d.duration(p, v, false, &out.maxWait)
		case "maxbytes":
			d.integer(p, v, 1, &out.maxBytes)
		case "queuecapacity":
			d.integer(p, v, 1, &out.queueCapacity)
		case "batchsize":
			d.integer(p, v, 1, &out.batchSize)
		case "redeliverydelay":
			d.duration(p, v, false, &out.redeliveryDelay)
		default:
			return false
		}
		return true
	})
	return out, d.errs.Err()
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

func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int32:
		return int(x), nil
	case int64:
		if x > math.MaxInt32 || x < math.MinInt32 {
			return 0, fmt.Errorf("out of range: %d", x)
		}
		return int(x), nil
	case uint, uint32, uint64:
		n, err := strconv.Atoi(fmt.Sprint(x))
		if err != nil || n > math.MaxInt32 {
			return 0, fmt.Errorf("out of range: %v", x)
		}
		return n, nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > math.MaxInt32 {
			return 0, fmt.Errorf("want a whole number, got %v", x)
		}
		return int(x), nil
	case json.Number:
		return toInt(string(x))
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil || n > math.MaxInt32 || n < math.MinInt32 {
			return 0, fmt.Errorf("want a whole number, got %q", x)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("want a whole number, got %T %v", v, v)
	}
}

// redactedError replaces every secret in an error's text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with every secret replaced by "[redacted]" in its
// text; errors.Is and As still see the original chain.
func redact(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}
