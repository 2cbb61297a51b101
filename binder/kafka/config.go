package kafka

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/streambind/streambind/binder/internal/conf"
	"github.com/streambind/streambind/binder/props"
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
	DefaultHealthInterval    = 2 * time.Second
	DefaultHealthTimeout     = 3 * time.Second
	DefaultLagInterval       = 2 * time.Second

	// partitionWatchInterval is how often a consumer asks the cluster
	// whether its topics gained partitions (see the package doc, New
	// partitions). It is not a setting; tests shorten it.
	partitionWatchInterval = 5 * time.Second

	// minInterval bounds health-interval, health-timeout and lag-interval
	// from below, so that a typo cannot make a busy loop of them.
	minInterval = 100 * time.Millisecond

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
	healthInterval    time.Duration
	healthTimeout     time.Duration
	lagInterval       time.Duration
	partitionWatch    time.Duration
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
		healthInterval:    DefaultHealthInterval,
		healthTimeout:     DefaultHealthTimeout,
		lagInterval:       DefaultLagInterval,
		partitionWatch:    partitionWatchInterval,
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

// str is [props.String] with the result trimmed of white space.
func str(v any) (string, error) {
	s, err := props.String(v)
	return strings.TrimSpace(s), err
}

const binderKeys = "brokers, client-id, required-acks, auto-create-topics, auto-add-partitions, min-partition-count, replication-factor, dial-timeout, heartbeat-interval, session-timeout, rebalance-timeout, close-timeout, health-interval, health-timeout, lag-interval, tls, sasl"

// atLeast decodes a duration of at least lo.
func atLeast(v any, lo time.Duration) (time.Duration, error) {
	d, err := props.Duration(v, false)
	if err == nil && d < lo {
		err = fmt.Errorf("must be at least %s, got %s", lo, d)
	}
	return d, err
}

// securitySource is what the TLS and SASL settings are built from.
type securitySource struct {
	tls                           conf.TLS
	saslSet                       bool
	mechanism, username, password string
}

// parseSettings decodes s.Binder (stream.kafka.binder) and then
// s.Environment (stream.binders.<name>.environment), which wins. Keys are
// matched ignoring case, '-' and '_'.
func parseSettings(s stream.BinderSettings) (settings, error) {
	out := defaultSettings()
	var d props.Decoder
	var sec securitySource
	for _, src := range props.BinderSources(s, Type) {
		d.Each(src.Path, src.Map, func(k, p string, v any) (err error) {
			switch k {
			case "brokers", "bootstrapservers":
				var l []string
				if l, err = props.List(v); err == nil {
					if len(l) == 0 {
						return errors.New("no broker address")
					}
					out.brokers = l
				}
			case "clientid":
				out.clientID, err = str(v)
			case "requiredacks", "acks":
				var a string
				if a, err = str(v); err != nil {
					return err
				}
				switch strings.ToLower(a) {
				case "all", "-1":
					out.requiredAcks = kafkago.RequireAll
				case "1", "one", "leader":
					out.requiredAcks = kafkago.RequireOne
				case "0", "none":
					out.requiredAcks = kafkago.RequireNone
				default:
					return fmt.Errorf("want all, 1 or 0, got %q", a)
				}
			case "autocreatetopics":
				out.autoCreateTopics, err = props.Bool(v)
			case "autoaddpartitions":
				out.autoAddPartitions, err = props.Bool(v)
			case "minpartitioncount":
				out.minPartitionCount, err = props.Int(v, 1)
			case "replicationfactor":
				var n int
				if n, err = props.Int(v, -1); err != nil {
					return err
				}
				if n == 0 {
					return errors.New("must be -1 (broker default) or at least 1, got 0")
				}
				out.replicationFactor = n
			case "dialtimeout":
				out.dialTimeout, err = props.Duration(v, false)
			case "heartbeatinterval":
				out.heartbeat, err = props.Duration(v, false)
			case "sessiontimeout":
				out.sessionTimeout, err = props.Duration(v, false)
			case "rebalancetimeout":
				out.rebalanceTimeout, err = props.Duration(v, false)
			case "closetimeout":
				out.closeTimeout, err = props.Duration(v, false)
			case "healthinterval":
				out.healthInterval, err = atLeast(v, minInterval)
			case "healthtimeout":
				out.healthTimeout, err = atLeast(v, minInterval)
			case "laginterval":
				out.lagInterval, err = atLeast(v, minInterval)
			case "tls":
				err = sec.tls.Decode(&d, p, v, false)
			case "sasl":
				sec.saslSet = true
				var m map[string]any
				if m, err = props.Map(v); err != nil {
					return err
				}
				d.Each(p, m, func(k, _ string, v any) (err error) {
					switch k {
					case "mechanism":
						sec.mechanism, err = str(v)
					case "username", "user":
						sec.username, err = str(v)
					case "password":
						// Never echo the value, not even in a type error.
						if s, ok := v.(string); ok {
							sec.password = s
						} else {
							err = errors.New("want a string")
						}
					default:
						err = props.UnknownKey("known: mechanism, username, password")
					}
					return err
				})
			default:
				err = props.UnknownKey("known: " + binderKeys)
			}
			return err
		})
	}
	if sec.password != "" {
		out.secrets = append(out.secrets, sec.password)
	}
	buildSecurity(&d, props.EnvironmentPath(s), sec, &out)
	if err := d.Err(); err != nil {
		return settings{}, fmt.Errorf("kafka binder %q: %w", s.Name, redact(err, out.secrets))
	}
	return out, nil
}

func buildSecurity(d *props.Decoder, path string, sec securitySource, out *settings) {
	out.tls = sec.tls.Build(d, path)
	if sec.saslSet {
		if sec.username == "" {
			d.Addf(path+".sasl.username", "required with sasl")
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
				d.Addf(path+".sasl", "%v", err)
			} else {
				out.sasl = m
			}
		default:
			d.Addf(path+".sasl.mechanism", "want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %q", sec.mechanism)
		}
	}
}

const producerKeys = "batch-timeout, batch-size, batch-bytes, compression, write-timeout, send-attempts"

func parseProducer(binding string, ext map[string]any) (producerSettings, error) {
	out := defaultProducerSettings()
	var d props.Decoder
	d.Each(props.BindingPath(Type, binding, "producer"), ext, func(k, _ string, v any) (err error) {
		switch k {
		case "batchtimeout", "linger":
			out.batchTimeout, err = props.Duration(v, true)
		case "batchsize":
			out.batchSize, err = props.Int(v, 1)
		case "batchbytes":
			out.batchBytes, err = props.Int(v, 1)
		case "writetimeout":
			out.writeTimeout, err = props.Duration(v, false)
		case "sendattempts":
			out.sendAttempts, err = props.Int(v, 1)
		case "compression", "compressiontype":
			var s string
			if s, err = str(v); err != nil {
				return err
			}
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
				return fmt.Errorf("want none, gzip, snappy, lz4 or zstd, got %q", s)
			}
		default:
			err = props.UnknownKey("known: " + producerKeys)
		}
		return err
	})
	return out, d.Err()
}

const consumerKeys = "start-offset, reset-offsets, dlq-name, max-wait, max-bytes, queue-capacity, batch-size, redelivery-delay"

func parseConsumer(binding string, ext map[string]any) (consumerSettings, error) {
	out := defaultConsumerSettings()
	var d props.Decoder
	d.Each(props.BindingPath(Type, binding, "consumer"), ext, func(k, _ string, v any) (err error) {
		switch k {
		case "startoffset":
			var s string
			if s, err = str(v); err != nil {
				return err
			}
			switch strings.ToLower(s) {
			case "earliest", "first", "oldest":
				out.startOffset = kafkago.FirstOffset
			case "latest", "last", "newest":
				out.startOffset = kafkago.LastOffset
			default:
				return fmt.Errorf("want earliest or latest, got %q", s)
			}
		case "resetoffsets":
			out.resetOffsets, err = props.Bool(v)
		case "dlqname":
			out.dlqName, err = str(v)
		case "maxwait":
			out.maxWait, err = props.Duration(v, false)
		case "maxbytes":
			out.maxBytes, err = props.Int(v, 1)
		case "queuecapacity":
			out.queueCapacity, err = props.Int(v, 1)
		case "batchsize":
			out.batchSize, err = props.Int(v, 1)
		case "redeliverydelay":
			out.redeliveryDelay, err = props.Duration(v, false)
		default:
			err = props.UnknownKey("known: " + consumerKeys)
		}
		return err
	})
	return out, d.Err()
}

// redactedError replaces an error's text: every secret removed (redact),
// repetitions tidied (Binder.clean).
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
