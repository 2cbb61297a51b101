package kafka

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/sasl"

	"github.com/streambind/streambind/binder/internal/conf"
	"github.com/streambind/streambind/binder/internal/secrets"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// Defaults of the binder settings and binding properties (see the package
// doc for what each one means).
const (
	DefaultBrokers           = "localhost:9092"
	DefaultBrokerPort        = 9092
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

	DefaultMaxWait         = 500 * time.Millisecond // the Java client's fetch.max.wait.ms
	DefaultMaxBytes        = 10 << 20
	DefaultQueueCapacity   = 256
	DefaultConsumerBatch   = 500
	DefaultRedeliveryDelay = 100 * time.Millisecond
)

// settings are the binder-wide settings.
type settings struct {
	brokers []string
	// schemes are the schemes the bootstrap addresses were written with
	// (checkSchemes); warnings are what New logs as warnings.
	schemes           []brokerScheme
	warnings          []string
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
	// consumerProps and producerProps are the Kafka client properties
	// of the binder's configuration map, with consumer-properties and
	// producer-properties over them (see clientprops.go).
	consumerProps, producerProps clientProps
	// secrets are strings that must never appear in an error or log line
	// (the SASL password).
	secrets []string

	// autoCreateKey and autoAddKey are the keys a message tells the
	// user to set to enable auto-create-topics and auto-add-partitions:
	// the key that set it, else where this binder reads it (a binder
	// declared under stream.binders reads its environment, which wins:
	// stream.kafka.binder is not the key to name for it). confKey is
	// the binder's configuration map, where a connection property is to
	// be set. minPartKey is min-partition-count's key, named when a topic
	// has fewer partitions than it asks for.
	autoCreateKey, autoAddKey, confKey, minPartKey string

	// keyStall is how long a partition's intake under ordering: key
	// waits for room before it warns (keyStallWarnAfter; 0: that). Not
	// a setting; tests shorten it.
	keyStall time.Duration
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
		confKey:           "stream.kafka.binder.configuration",
	}
}

// withDefaultPort returns the broker addresses with port added to those
// that have none (SCSt's default-broker-port).
func withDefaultPort(brokers []string, port int) []string {
	out := make([]string, len(brokers))
	for i, b := range brokers {
		if _, _, err := net.SplitHostPort(b); err == nil {
			out[i] = b
			continue
		}
		host := strings.TrimSuffix(strings.TrimPrefix(b, "["), "]")
		out[i] = net.JoinHostPort(host, strconv.Itoa(port))
	}
	return out
}

// brokerScheme is the scheme of a bootstrap address as written
// (PLAINTEXT://host:9092), kept to check it against the binder's
// security (checkSchemes); key is where the address was given.
type brokerScheme struct {
	scheme, addr, key string
}

// parseBrokers splits each address of l into its scheme and host[:port]
// (checkBroker) and returns the addresses without their schemes, and the
// schemes given, found at key.
func parseBrokers(l []string, key string) ([]string, []brokerScheme, error) {
	addrs := make([]string, 0, len(l))
	var schemes []brokerScheme
	for _, b := range l {
		scheme, addr := splitScheme(b)
		if err := checkBroker(addr); err != nil {
			return nil, nil, err
		}
		addrs = append(addrs, addr)
		if scheme != "" {
			schemes = append(schemes, brokerScheme{scheme: scheme, addr: b, key: key})
		}
	}
	return addrs, schemes, nil
}

// splitScheme splits a broker address into its scheme, if it has one, and
// the rest: "SASL_SSL://host:9092" is "SASL_SSL" and "host:9092". Java's
// client takes host and port out of any <scheme>://host:port (a security
// protocol or a listener name, INTERNAL://kafka:29092) and ignores the
// scheme; so does the binder, but for checkSchemes. A scheme is a letter
// then letters, digits, '_', '-', '+' or '.'; anything else is left for
// checkBroker to refuse.
func splitScheme(b string) (scheme, rest string) {
	i := strings.Index(b, "://")
	if i <= 0 {
		return "", b
	}
	for j, r := range b[:i] {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (j == 0 || !(r >= '0' && r <= '9' || r == '_' || r == '-' || r == '+' || r == '.')) {
			return "", b
		}
	}
	return b[:i], b[i+3:]
}

// checkBroker refuses a broker address (without its scheme) that no dial
// can use, so that it is a configuration error at start-up, not an outage
// retried for ever: host or host:port (IPv6 in brackets), port in
// 1..65535. (A bare host gets default-broker-port.) Empty items of a list
// are dropped before, as Kafka's clients drop them. The address is not
// echoed when it holds user info, which may be a password.
func checkBroker(b string) error {
	if strings.ContainsAny(b, "@/") {
		return errors.New("a broker address is [scheme://]host:port, with no scheme or user info beyond that (credentials go in sasl or jaas)")
	}
	host, port, err := net.SplitHostPort(b)
	if err != nil {
		// No port: a host name or an IP address (IPv6 with or without
		// brackets).
		host, port = strings.TrimSuffix(strings.TrimPrefix(b, "["), "]"), ""
		if strings.Contains(host, ":") && net.ParseIP(host) == nil {
			return fmt.Errorf("broker address %q: want host:port (an IPv6 address in brackets: [::1]:9092)", b)
		}
	}
	if host == "" {
		return fmt.Errorf("broker address %q has no host", b)
	}
	for _, r := range host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' || r == ':' || r == '%') {
			return fmt.Errorf("broker address %q: host %q has %q", b, host, r)
		}
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("broker address %q: port %q is not a number in 1..65535", b, port)
		}
		// A bracketed host with a colon that is no IPv6 address
		// ([h:9092]:99) is what the dial cannot use.
		if err := conf.HostPort(b); err != nil {
			return fmt.Errorf("broker address %q: %w", b, err)
		}
	}
	return nil
}

// checkSchemes checks the schemes of the bootstrap addresses that name a
// security protocol against the security the binder connects with (its
// tls and sasl keys, or security.protocol in its configuration map), which
// alone decides, as in Java's client, where the scheme is ignored. An
// address asking for more than that (SSL:// without TLS, SASL_PLAINTEXT://
// without SASL) is an error at its key: Java's client would connect in
// plain text to a listener expecting TLS or SASL and fail on every
// request. One asking for less (PLAINTEXT:// with TLS configured) is a
// warning: the connection uses TLS, as Java's would. Other schemes
// (listener names such as INTERNAL://) are not checked.
func checkSchemes(d *props.Decoder, out *settings, tlsKey, saslKey string) {
	tlsOn, saslOn := out.tls != nil, out.sasl != nil
	configured := func() string {
		switch {
		case tlsOn && saslOn:
			return "TLS and SASL (SASL_SSL)"
		case tlsOn:
			return "TLS (SSL)"
		case saslOn:
			return "SASL without TLS (SASL_PLAINTEXT)"
		}
		return "neither TLS nor SASL (PLAINTEXT)"
	}
	for _, bs := range out.schemes {
		var wantTLS, wantSASL bool
		switch strings.ToUpper(bs.scheme) {
		case "PLAINTEXT":
		case "SSL":
			wantTLS = true
		case "SASL_PLAINTEXT":
			wantSASL = true
		case "SASL_SSL":
			wantTLS, wantSASL = true, true
		default:
			continue // a listener name: the binder's security decides
		}
		var missing []string
		if wantTLS && !tlsOn {
			missing = append(missing, "TLS: set "+tlsKey+" (enabled: true, or its ca-file ...)")
		}
		if wantSASL && !saslOn {
			missing = append(missing, "SASL: set "+saslKey+" (mechanism, username, password)")
		}
		if len(missing) > 0 {
			d.Addf(bs.key, "broker address %q asks for %s, and the binder is configured for %s, which decides how it connects (Java's client ignores the scheme too): %s, or give security.protocol %s with its ssl.* / sasl.* properties in %s; for a plain-text listener write PLAINTEXT://",
				bs.addr, strings.ToUpper(bs.scheme), configured(), strings.Join(missing, "; "), strings.ToUpper(bs.scheme), out.confKey)
			continue
		}
		if tlsOn != wantTLS || saslOn != wantSASL {
			out.warnings = append(out.warnings, fmt.Sprintf("%s: broker address %q says %s, and the binder connects with %s as configured (the scheme is ignored, as by Java's client)",
				bs.key, bs.addr, strings.ToUpper(bs.scheme), configured()))
		}
	}
}

// maxTopicLen is the longest topic name Kafka accepts.
const maxTopicLen = 249

// checkTopic refuses a topic name Kafka would refuse at the first
// produce or fetch (letters, digits, '.', '_' and '-'; at most 249
// characters; not "." or ".."), so that it is a configuration error at
// start-up, at key (what named it), not an error of every send.
func checkTopic(key, what, name string) error {
	bad := func(format string, args ...any) error {
		return &stream.ConfigError{Path: key, Msg: fmt.Sprintf("%s %s", what, fmt.Sprintf(format, args...))}
	}
	switch {
	case name == "." || name == "..":
		return bad("%q is not a Kafka topic name", name)
	case len(name) > maxTopicLen:
		return bad("%.40q... is %d characters long: a Kafka topic name has at most %d", name, len(name), maxTopicLen)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return bad("%q has %q: a Kafka topic name has letters, digits, '.', '_' and '-' only", name, r)
		}
	}
	return nil
}

// checkConsumerTopics checks the topics of a consumer binding: its
// destination, its retry topics (retry-delays) and, with dlq on, its
// dead-letter topic (error.<dest>.<group> unless dlq-name names it).
func checkConsumerTopics(spec stream.ConsumerSpec, cs consumerSettings) error {
	key := "stream.bindings." + spec.Binding + ".destination"
	if err := checkTopic(key, "destination", spec.Destination); err != nil {
		return err
	}
	if err := checkRetryTopics(key, spec); err != nil { // retrytopics.go
		return err
	}
	if !spec.Consumer.DLQ || spec.Group == "" {
		return nil
	}
	if cs.dlqName != "" {
		return checkTopic(props.BindingPath(Type, spec.Binding, "consumer")+".dlq-name", "dlq-name", cs.dlqName)
	}
	return checkTopic(key, "the dead-letter topic of group "+spec.Group, stream.DLQName(spec.Destination, spec.Group))
}

// producerSettings are a producer binding's Kafka properties.
type producerSettings struct {
	batchTimeout time.Duration
	batchSize    int
	batchBytes   int
	compression  compress.Compression
	writeTimeout time.Duration
	sendAttempts int
	// batchTarget (batch.size, buffer-size) bounds the bytes the flusher
	// groups into one write, without limiting a record's size as
	// batchBytes does; 0: batchBytes alone.
	batchTarget int
	acks        kafkago.RequiredAcks
	// replicationFactor of a topic this binding creates; 0: the binder's.
	replicationFactor int
	// topicConfigs are the topic configurations (topic.properties) of a
	// topic this binding creates.
	topicConfigs []kafkago.ConfigEntry
	// keyExpr is message-key-expression; nil: none.
	keyExpr *keyExpression
	// headerPatterns is header-patterns; nil: every header (*).
	headerPatterns headerPatterns
}

// groupBytes is the most bytes the flusher puts in one write.
func (ps producerSettings) groupBytes() int {
	if ps.batchTarget > 0 {
		return min(ps.batchTarget, ps.batchBytes)
	}
	return ps.batchBytes
}

func defaultProducerSettings() producerSettings {
	return producerSettings{
		acks:         kafkago.RequireAll,
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
	minBytes        int
	// orderByKey: consumer.ordering key (keyorder.go).
	orderByKey bool
	// The consumer group's timings; parseConsumer starts them from the
	// binder's settings. groupTimeout bounds requests to the coordinator.
	heartbeat, session, rebalance, groupTimeout time.Duration
	isolation                                   kafkago.IsolationLevel
	// dlqPartitions is the partition count of a dead-letter topic this
	// binding creates; 0: as many as the source topic.
	dlqPartitions int
	// dlqProducer are the dead-letter writer's producer settings.
	dlqProducer producerSettings
	// replicationFactor of a topic this binding creates; 0: the binder's.
	replicationFactor int
	// topicConfigs are the topic configurations (topic.properties) of a
	// topic this binding creates; its dead-letter topic takes
	// dlqProducer's, as in SCSt.
	topicConfigs []kafkago.ConfigEntry
	// fixed: SCSt's auto-rebalance-enabled false, a fixed assignment by
	// instance-index (fixed.go).
	fixed bool
}

func defaultConsumerSettings() consumerSettings {
	return consumerSettings{
		minBytes:        1,
		heartbeat:       DefaultHeartbeatInterval,
		session:         DefaultSessionTimeout,
		rebalance:       DefaultRebalanceTimeout,
		groupTimeout:    DefaultDialTimeout,
		dlqProducer:     defaultProducerSettings(),
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

// noTransactions is why stream.kafka.binder.transaction is refused.
const noTransactions = "exactly-once transactions are not supported (kafka-go has no transactional producer), and the binder never runs without what was asked for: remove it; delivery is at least once, and every record carries an id header for de-duplication (but under producer.header-mode: none)"

// binderSections, consumerSections and producerSections are the nested
// sections of the binder settings and of a binding's properties, so that
// their keys may come flat from environment variables
// (props.Decoder.Nest): ..._BINDER_METRICS_OFFSETLAGMETRICSINTERVAL is
// metrics.offset-lag-metrics-interval, ..._CONFIGURATION_MAX_POLL_RECORDS
// configuration.max-poll-records, which kafkaMap reads as
// max.poll.records (as Spring Boot binds such a variable).
var (
	binderSections = []props.Section{
		{Key: "tls", Scalar: "enabled"}, {Key: "sasl"}, {Key: "jaas"}, {Key: "transaction"}, {Key: "metrics"},
		{Key: "configuration"}, {Key: "consumer-properties"}, {Key: "producer-properties"},
	}
	producerSections = []props.Section{{Key: "configuration"}, {Key: "topic"}, {Key: "admin"}}
	consumerSections = append([]props.Section{{Key: "dlq-producer-properties"}}, producerSections...)
)

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
// Brokers returns the bootstrap brokers a binder with settings bs
// connects to (brokers or bootstrap-servers, each with
// default-broker-port when it has no port; Spring Boot's spring.kafka.*
// and the binder environment included), so that tools show and reach
// exactly what the binder does. Its errors are the binder's configuration
// errors, which never show a secret.
func Brokers(bs stream.BinderSettings) ([]string, error) {
	s, err := parseSettings(bs)
	if err != nil {
		return nil, err
	}
	return append([]string(nil), s.brokers...), nil
}

func parseSettings(s stream.BinderSettings) (settings, error) {
	out := defaultSettings()
	var d props.Decoder
	var sec securitySource
	var conn connProps
	var common, consProps, prodProps clientProps
	var autoCreateAt, autoAddAt, minPartAt string // the key paths that set them
	out.confKey = props.SettingPath(s, Type, "configuration", "")
	port := DefaultBrokerPort
	binderKey := func(k, p string, v any) (err error) {
		switch k {
		case "brokers", "bootstrapservers":
			var l []string
			if l, err = props.List(v); err == nil {
				if len(l) == 0 {
					return conf.ErrEmpty
				}
				if out.brokers, out.schemes, err = parseBrokers(l, p); err != nil {
					return err
				}
			}
		case "defaultbrokerport":
			var n int
			if n, err = props.Int(v, 1); err == nil {
				if n > 65535 {
					return fmt.Errorf("must be at most 65535, got %d", n)
				}
				port = n
			}
		case "clientid":
			out.clientID, err = str(v)
		case "requiredacks", "acks":
			out.requiredAcks, err = acks(v)
		case "configuration", "consumerproperties", "producerproperties":
			var m map[string]any
			if m, err = props.Map(v); err != nil {
				return err
			}
			switch k {
			case "configuration":
				kafkaMap(&d, p, m, kindBinder, &common, &conn, out.confKey)
			case "consumerproperties":
				kafkaMap(&d, p, m, kindConsumer, &consProps, nil, out.confKey)
			default:
				kafkaMap(&d, p, m, kindProducer, &prodProps, nil, out.confKey)
			}
		case "jaas":
			err = decodeJAASSection(&d, p, v, &conn)
		case "transaction":
			m, merr := props.Map(v)
			if merr != nil || len(m) == 0 {
				return errors.New(noTransactions)
			}
			d.Each(p, m, func(string, string, any) error { return errors.New(noTransactions) })
		case "autocreatetopics":
			out.autoCreateTopics, err = props.Bool(v)
			autoCreateAt = p
		case "autoaddpartitions":
			out.autoAddPartitions, err = props.Bool(v)
			autoAddAt = p
		case "minpartitioncount":
			out.minPartitionCount, err = props.Int(v, 1)
			minPartAt = p
		case "replicationfactor":
			out.replicationFactor, err = replicationFactor(v)
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
			// SCSt's healthTimeout is a number of seconds: so is a bare
			// number here (unlike the other durations, in milliseconds).
			if n, nerr := props.Int(v, 0); nerr == nil {
				v = time.Duration(n) * time.Second
			}
			out.healthTimeout, err = atLeast(v, minInterval)
		case "laginterval":
			out.lagInterval, err = atLeast(v, minInterval)
		case "metrics":
			// SCSt's metrics section: its offset lag interval is
			// lag-interval; the lag is always computed.
			var m map[string]any
			if m, err = props.Map(v); err != nil {
				return err
			}
			d.Each(p, m, func(k, _ string, v any) (err error) {
				switch k {
				case "offsetlagmetricsinterval":
					out.lagInterval, err = atLeast(v, minInterval)
				case "defaultoffsetlagmetricsenabled":
					var on bool
					if on, err = props.Bool(v); err == nil && !on {
						err = errors.New("false is not supported: the consumer lag is always computed (stream.LagReporter); set lag-interval (offset-lag-metrics-interval) to read the end offsets less often")
					}
				default:
					err = props.UnknownKey("metrics accepts default-offset-lag-metrics-enabled, offset-lag-metrics-interval (lag-interval)")
				}
				return err
			})
		case "tls":
			err = sec.tls.Decode(&d, p, v, false)
		case "sasl":
			if v == nil {
				// "sasl:" with its keys commented out: no SASL, as an
				// empty value of any of them is unset (unsetWhenEmpty).
				return nil
			}
			var m map[string]any
			if m, err = props.Map(v); err != nil {
				sec.saslSet = true
				return err
			}
			if len(m) == 0 {
				return nil // "sasl: {}": no SASL either, as "tls: {}" is no TLS
			}
			sec.saslSet = true
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
			if ok, serr := scstKey("binder", k, v); ok {
				if on, _ := props.Bool(v); serr == nil && on && k == "enableobservation" {
					out.warnings = append(out.warnings, fmt.Sprintf(observationIgnored, p))
				}
				return serr
			}
			err = props.UnknownKey("known: " + binderKeys)
		}
		return err
	}
	srcs := props.BinderSources(s, Type)
	envPath := props.EnvironmentPath(s)
	native, scst, boot, unknown := splitSpringEnvironment(srcs[1].Map)
	for _, u := range unknown {
		d.Addf(envPath+"."+u, "not read by the Kafka binder (it reads spring.cloud.stream.kafka.binder.* and spring.kafka.* here)")
	}
	// Spring Boot's spring.kafka.* first, then SCSt's binder keys, then
	// the binder's own environment keys: the later wins.
	d.Each(srcs[0].Path, d.Nest(srcs[0].Path, srcs[0].Map, binderSections...), binderKey)
	d.Each(envPath+".spring.kafka", boot, func(k, p string, v any) error {
		return bootKafkaKey(&d, k, p, v, binderKey, &common, &conn, out.confKey)
	})
	scstPath := envPath + ".spring.cloud.stream.kafka.binder"
	d.Each(scstPath, d.Nest(scstPath, scst, binderSections...), binderKey)
	d.Each(envPath, d.Nest(envPath, native, binderSections...), binderKey)
	if sec.password != "" {
		out.secrets = append(out.secrets, sec.password)
	}
	sec.tls.SkipFiles = s.SkipFiles
	buildSecurity(&d, props.EnvironmentPath(s), sec, &out)
	buildConn(&d, &conn, sec.saslSet || sec.tls.Set, s.SkipFiles, &out)
	checkSchemes(&d, &out, props.SettingPath(s, Type, "tls", ""), props.SettingPath(s, Type, "sasl", ""))
	out.brokers = withDefaultPort(out.brokers, port)
	out.autoCreateKey = props.SettingPath(s, Type, "auto-create-topics", autoCreateAt)
	out.autoAddKey = props.SettingPath(s, Type, "auto-add-partitions", autoAddAt)
	out.minPartKey = props.SettingPath(s, Type, "min-partition-count", minPartAt)
	out.consumerProps, out.producerProps = common, common
	out.consumerProps.merge(consProps)
	out.producerProps.merge(prodProps)
	if err := d.Err(); err != nil {
		return settings{}, fmt.Errorf("kafka binder %q: %w", s.Name, secrets.Redact(err, out.secrets))
	}
	return out, nil
}

func buildSecurity(d *props.Decoder, path string, sec securitySource, out *settings) {
	out.tls = sec.tls.Build(d, path)
	if sec.saslSet {
		if sec.username == "" {
			d.Addf(path+".sasl.username", "required with sasl")
		}
		m, err := saslMechanism(sec.mechanism, sec.username, sec.password)
		switch {
		case err != nil && strings.HasPrefix(err.Error(), "want "):
			d.Addf(path+".sasl.mechanism", "%v", err)
		case err != nil:
			d.Addf(path+".sasl", "%v", err)
		default:
			out.sasl = m
		}
	}
}

// parseProducer decodes a producer binding's Kafka properties
// (stream.kafka.bindings.<binding>.producer) over the binder's settings st.
func parseProducer(st *settings, binding string, ext map[string]any) (producerSettings, error) {
	var d props.Decoder
	out := decodeProducer(&d, st, props.BindingPath(Type, binding, "producer"), ext, false)
	return out, d.Err()
}

// decodeProducer decodes the producer properties m at path: the typed
// keys, then the binder's producer client properties over them, then the
// map's own configuration (see the package doc, Configuration). dlq says
// m is a consumer's dlq-producer-properties (the dead-letter writer's).
func decodeProducer(d *props.Decoder, st *settings, path string, m map[string]any, dlq bool) producerSettings {
	out := defaultProducerSettings()
	out.acks = st.requiredAcks
	var own clientProps
	// SCSt's sync (scstKey takes any boolean): it decides whether
	// send-timeout-expression has an effect.
	var sync bool
	for k, v := range m {
		if props.Norm(k) == "sync" {
			sync, _ = props.Bool(v)
		}
	}
	d.Each(path, d.Nest(path, m, producerSections...), func(k, p string, v any) (err error) {
		switch k {
		case "batchtimeout", "linger":
			out.batchTimeout, err = props.Duration(v, true)
		case "batchsize":
			out.batchSize, err = props.Int(v, 1)
		case "batchbytes":
			out.batchBytes, err = props.Size(v, 1)
		case "buffersize":
			// SCSt's buffer-size is the Kafka client's batch.size.
			out.batchTarget, err = props.Int(v, 1)
		case "writetimeout":
			out.writeTimeout, err = props.Duration(v, false)
		case "sendattempts":
			out.sendAttempts, err = props.Int(v, 1)
		case "compression", "compressiontype":
			var s string
			if s, err = str(v); err != nil {
				return err
			}
			out.compression, err = compression(s)
		case "configuration":
			var cm map[string]any
			if cm, err = props.Map(v); err == nil {
				kafkaMap(d, p, cm, kindProducer, &own, nil, st.confKey)
			}
		case "topic", "admin":
			out.replicationFactor, out.topicConfigs, err = decodeTopic(d, p, v)
		case "messagekeyexpression":
			var s string
			if s, err = str(v); err == nil {
				out.keyExpr, err = compileKeyExpression(s)
			}
		case "headerpatterns":
			out.headerPatterns, err = parseHeaderPatterns(v)
		default:
			if k == "sendtimeoutexpression" && sync {
				// SCSt's key, taken by scstKey without sync (it has no
				// effect there either); with sync it asks for a bound
				// the binder does not evaluate.
				if dlq {
					return errors.New(dlqSendTimeoutUnderSync)
				}
				return errors.New(sendTimeoutUnderSync)
			}
			if ok, serr := scstKey("producer", k, v); ok {
				return serr
			}
			err = props.UnknownKey("known: " + producerKeys)
		}
		return err
	})
	all := st.producerProps
	all.merge(own)
	all.applyProducer(&out)
	return out
}

// decodeTopic decodes a binding's topic section (SCSt's
// KafkaTopicProperties; admin is its older name) and returns its
// replication-factor (0: not set) and its properties (configuration in
// admin), the topic configurations (cleanup.policy, retention.ms ...) of
// a topic the binder creates. As in SCSt (KafkaTopicProvisioner), they
// are given to CreateTopics only: an existing topic is used as it is
// (auto-alter-topics is refused). Their names are the broker's to check
// (it refuses an unknown one, and so start-up fails); a value is a
// string, a number or a boolean, as Spring binds a Map<String, String>.
func decodeTopic(d *props.Decoder, p string, v any) (rf int, configs []kafkago.ConfigEntry, err error) {
	m, err := props.Map(v)
	if err != nil {
		return 0, nil, err
	}
	d.Each(p, d.Nest(p, m, props.Section{Key: "properties"}, props.Section{Key: "configuration"}), func(k, kp string, v any) (err error) {
		switch k {
		case "replicationfactor":
			rf, err = replicationFactor(v)
		case "properties", "configuration":
			var cm map[string]any
			if cm, err = props.Map(v); err == nil {
				configs = topicConfigs(d, kp, "", cm, configs)
			}
		case "replicasassignments", "replicasassignment":
			err = errors.New("not supported: the binder creates a topic with a partition count and replication-factor, and the broker places the replicas; to place them yourself, create the topic beforehand (kafka-topics --create --replica-assignment): the binder uses an existing topic as it is")
		default:
			err = props.UnknownKey("known: replication-factor, properties")
		}
		return err
	})
	// Sorted, for the log; a name given twice (in properties and in
	// configuration, or nested and dotted) once.
	slices.SortStableFunc(configs, func(a, b kafkago.ConfigEntry) int { return strings.Compare(a.ConfigName, b.ConfigName) })
	configs = slices.CompactFunc(configs, func(a, b kafkago.ConfigEntry) bool { return a.ConfigName == b.ConfigName })
	return rf, configs, nil
}

// topicConfigs appends the topic configurations of m (at path p, below
// the dotted name prefix) to out. Nested maps ({cleanup: {policy:
// compact}}, the form a properties file or an environment variable may
// give) are read as the dotted names they spell, '-' and '_' as '.', as
// for the client properties (kafkaName): Kafka's names hold neither.
func topicConfigs(d *props.Decoder, p, prefix string, m map[string]any, out []kafkago.ConfigEntry) []kafkago.ConfigEntry {
	for _, k := range props.SortedKeys(m) {
		kp, name := d.KeyPath(p, k), prefix+kafkaName(k)
		if sub, ok := m[k].(map[string]any); ok {
			out = topicConfigs(d, kp, name+".", sub, out)
			continue
		}
		s, err := props.String(m[k])
		if err == nil && strings.TrimSpace(s) == "" {
			err = errors.New("want a value (a topic configuration's string, number or boolean), got none")
		}
		if err != nil {
			d.Add(kp, err)
			continue
		}
		out = append(out, kafkago.ConfigEntry{ConfigName: name, ConfigValue: strings.TrimSpace(s)})
	}
	return out
}

// replicationFactor reads a replication factor: -1 (the broker's default)
// or at least 1.
func replicationFactor(v any) (int, error) {
	n, err := props.Int(v, -1)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, errors.New("must be -1 (broker default) or at least 1, got 0")
	}
	return n, nil
}

// parseConsumer is decodeConsumer over the default binder settings: for
// what does not depend on them (the dlq-name).
func parseConsumer(binding string, ext map[string]any) (consumerSettings, error) {
	st := defaultSettings()
	return decodeConsumer(&st, binding, ext)
}

// decodeConsumer decodes a consumer binding's Kafka properties
// (stream.kafka.bindings.<binding>.consumer) over the binder's settings st.
// The typed keys come first, then the binder's consumer client properties,
// then the binding's configuration; start-offset wins over
// auto.offset.reset, as in SCSt.
func decodeConsumer(st *settings, binding string, ext map[string]any) (consumerSettings, error) {
	out := defaultConsumerSettings()
	out.heartbeat, out.session, out.rebalance, out.groupTimeout = st.heartbeat, st.sessionTimeout, st.rebalanceTimeout, st.dialTimeout
	var d props.Decoder
	path := props.BindingPath(Type, binding, "consumer")
	var own clientProps
	var dlqProps map[string]any
	dlqPath := path + ".dlq-producer-properties"
	d.Each(path, d.Nest(path, ext, consumerSections...), func(k, p string, v any) (err error) {
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
		case "enabledlq":
			// The configuration loader moves SCSt's enable-dlq to the
			// binding's consumer.dlq; it reaches the binder only from a
			// configuration built otherwise.
			err = errors.New("set the binding's consumer.dlq (stream.bindings.<binding>.consumer.dlq) instead: the configuration loader reads enable-dlq as that, and the binder does not")
		case "dlqname":
			out.dlqName, err = str(v)
		case "dlqpartitions":
			out.dlqPartitions, err = props.Int(v, 1)
		case "dlqproducerproperties":
			dlqProps, err = props.Map(v)
			dlqPath = p
		case "maxwait":
			out.maxWait, err = props.Duration(v, false)
		case "maxbytes":
			out.maxBytes, err = props.Size(v, 1)
		case "queuecapacity":
			out.queueCapacity, err = props.Int(v, 1)
		case "batchsize":
			out.batchSize, err = props.Int(v, 1)
		case "redeliverydelay":
			out.redeliveryDelay, err = props.Duration(v, false)
		case "ordering":
			out.orderByKey, err = decodeOrdering(v) // keyorder.go
		case "configuration":
			var cm map[string]any
			if cm, err = props.Map(v); err == nil {
				kafkaMap(&d, p, cm, kindConsumer, &own, nil, st.confKey)
			}
		case "topic", "admin":
			out.replicationFactor, out.topicConfigs, err = decodeTopic(&d, p, v)
		case "autorebalanceenabled":
			// SCSt's: false reads the partitions p with p % instance-count
			// == instance-index without joining the group (fixed.go).
			var auto bool
			auto, err = props.Bool(v)
			out.fixed = !auto
		default:
			if ok, serr := scstKey("consumer", k, v); ok {
				return serr
			}
			err = props.UnknownKey("known: " + consumerKeys)
		}
		return err
	})
	typedStart := out.startOffset
	all := st.consumerProps
	all.merge(own)
	all.applyConsumer(&out)
	if typedStart != 0 {
		out.startOffset = typedStart
	}
	if out.minBytes > out.maxBytes {
		d.Addf(path, "fetch.min.bytes (%d) is above the largest fetch (%d: max-bytes, max.partition.fetch.bytes or fetch.max.bytes)", out.minBytes, out.maxBytes)
	}
	out.dlqProducer = decodeProducer(&d, st, dlqPath, dlqProps, true)
	return out, d.Err()
}

// redactedError replaces an error's text: repetitions tidied
// (Binder.clean), its secrets already removed (secrets.Redact).
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
