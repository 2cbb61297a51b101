package redis

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/binder/internal/conf"
	"github.com/streambind/streambind/binder/internal/secrets"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// Type is the binder type name: stream.binders.<name>.type: redis, and
// the stream.redis section.
const Type = "redis"

// Defaults of the binder settings and binding properties (see the package
// doc).
const (
	DefaultAddress           = "localhost:6379"
	DefaultClientName        = "streambind"
	DefaultDialTimeout       = 5 * time.Second
	DefaultCommandTimeout    = 5 * time.Second
	DefaultHealthInterval    = 2 * time.Second
	DefaultHealthTimeout     = 2 * time.Second
	DefaultMaxLength         = 100_000
	DefaultTrimInterval      = 5 * time.Second
	DefaultMaxMessageSize    = 512 << 20 // proto-max-bulk-len
	DefaultDeadLetterMaxSize = 16 << 20

	DefaultSendAttempts = 5
	DefaultSendBatch    = 256
	DefaultWaitTimeout  = time.Second

	DefaultClaimMinIdle    = 30 * time.Second
	DefaultClaimInterval   = 5 * time.Second
	DefaultMaxDeliveries   = 10
	DefaultRedeliveryDelay = 100 * time.Millisecond
	DefaultPrefetch        = 128
	DefaultBatchSize       = 64
)

// minInterval bounds the intervals and timeouts below.
const minInterval = 100 * time.Millisecond

// settings are the decoded binder settings.
type settings struct {
	addr           string
	username       string
	password       string
	db             int
	clientName     string
	keyPrefix      string
	tls            *tls.Config
	dialTimeout    time.Duration
	commandTimeout time.Duration
	poolSize       int
	healthInterval time.Duration
	healthTimeout  time.Duration

	maxLength         int64 // approximate MAXLEN on every XADD; -1: none
	trimAcked         bool
	maxAge            time.Duration // 0: off
	trimInterval      time.Duration
	maxMessageSize    int
	deadLetterMaxSize int

	// secrets never appear in an error or log line.
	secrets []string
	// ignored lists the settings another one overrides (url and address
	// both set), as {ignored key, the key that wins}, for a WARN line.
	ignored [][2]string
}

func defaultSettings() settings {
	return settings{
		addr:              DefaultAddress,
		clientName:        DefaultClientName,
		dialTimeout:       DefaultDialTimeout,
		commandTimeout:    DefaultCommandTimeout,
		healthInterval:    DefaultHealthInterval,
		healthTimeout:     DefaultHealthTimeout,
		maxLength:         DefaultMaxLength,
		trimAcked:         true,
		trimInterval:      DefaultTrimInterval,
		maxMessageSize:    DefaultMaxMessageSize,
		deadLetterMaxSize: DefaultDeadLetterMaxSize,
	}
}

// interval reads a duration of at least minInterval.
func interval(v any) (time.Duration, error) {
	d, err := props.Duration(v, false)
	if err == nil && d < minInterval {
		err = fmt.Errorf("must be at least %s, got %s", minInterval, d)
	}
	return d, err
}

const binderKeys = "address, url, username, password, db, client-name, key-prefix, tls, dial-timeout, command-timeout, pool-size, health-interval, health-timeout, max-length, trim-acked, max-age, trim-interval, max-message-size, dead-letter-max-size"

// binderSections are the nested sections of the binder settings, so that
// their keys may come flat from environment variables
// (props.Decoder.Nest): ..._BINDER_TLS_CA_FILE is tls.ca-file.
var binderSections = []props.Section{{Key: "tls", Scalar: "enabled"}, {Key: "ssl", Scalar: "enabled"}}

// parseSettings decodes s.Binder (stream.redis.binder) and then
// s.Environment (stream.binders.<name>.environment), which wins. Every
// problem is reported, secrets never.
func parseSettings(s stream.BinderSettings) (settings, error) {
	out := defaultSettings()
	dlSizeSet := false // dead-letter-max-size given (else it follows max-message-size)
	var d props.Decoder
	var ts conf.TLS
	var fromURL *goredis.Options
	// Where url and address were set: the index of their source (0:
	// stream.redis.binder, 1: the binder's environment) and key path.
	var urlAt, addrAt props.SetAt
	// Where username, password and db were set, as urlAt.
	var userAt, passAt, dbAt props.SetAt
	urlDB := false // the url names a database (/n)
	var tlsAt struct {
		src  int
		path string
	}
	var addr string // address's host:port
	for i, src := range props.BinderSources(s, Type) {
		d.Each(src.Path, d.Nest(src.Path, src.Map, binderSections...), func(k, p string, v any) (err error) {
			switch k {
			case "address", "addr", "host", "server":
				var a string
				if a, err = conf.String(v); err != nil {
					return err
				}
				if addr, err = hostPort(a); err != nil {
					return err
				}
				addrAt = props.SetAt{Src: i, Path: p}
			case "url", "uri":
				var raw string
				if raw, err = conf.Secret(v); err != nil {
					return err
				}
				o, secrets, err := parseURL(raw)
				out.secrets = append(out.secrets, secrets...)
				if err != nil {
					return err
				}
				fromURL, urlDB = o, namesDB(raw)
				urlAt = props.SetAt{Src: i, Path: p}
			case "username", "user":
				out.username, err = conf.String(v)
				userAt = props.SetAt{Src: i, Path: p}
			case "password":
				out.password, err = conf.Secret(v)
				out.secrets = append(out.secrets, out.password)
				passAt = props.SetAt{Src: i, Path: p}
			case "db", "database":
				out.db, err = props.Int(v, 0)
				dbAt = props.SetAt{Src: i, Path: p}
			case "clientname", "name", "connectionname":
				out.clientName, err = conf.String(v)
				if err == nil && strings.ContainsAny(out.clientName, " \t\r\n") {
					err = fmt.Errorf("must not hold white space (Redis refuses such client names), got %q", out.clientName)
				}
			case "keyprefix", "prefix":
				out.keyPrefix, err = props.String(v)
			case "dialtimeout", "connecttimeout", "connectiontimeout":
				out.dialTimeout, err = interval(v)
			case "commandtimeout", "readtimeout", "timeout":
				out.commandTimeout, err = interval(v)
			case "poolsize":
				out.poolSize, err = props.Int(v, 1)
			case "healthinterval":
				out.healthInterval, err = interval(v)
			case "healthtimeout":
				// A bare number is seconds, as the Kafka binder's
				// health-timeout (SCSt's healthTimeout), unlike the other
				// durations (milliseconds): the key means one thing on both.
				if n, nerr := props.Int(v, 0); nerr == nil {
					v = time.Duration(n) * time.Second
				}
				out.healthTimeout, err = interval(v)
			case "maxlength", "maxlen":
				var n int
				if n, err = props.Int(v, -1); err == nil {
					if n == 0 {
						return errors.New("must be -1 (no cap) or at least 1, got 0")
					}
					out.maxLength = int64(n)
				}
			case "trimacked":
				out.trimAcked, err = props.Bool(v)
			case "maxage":
				out.maxAge, err = props.Duration(v, true)
			case "triminterval":
				out.trimInterval, err = interval(v)
			case "maxmessagesize":
				out.maxMessageSize, err = props.Size(v, 1024)
			case "deadlettermaxsize":
				out.deadLetterMaxSize, err = props.Size(v, 1024)
				dlSizeSet = true
			case "tls", "ssl":
				err = ts.Decode(&d, p, v, false)
				tlsAt.src, tlsAt.path = i, p
				if m, merr := props.Map(v); merr == nil {
					for mk := range m {
						if props.Norm(mk) == "enabled" {
							tlsAt.path = d.KeyPath(p, mk)
						}
					}
				}
			default:
				err = props.UnknownKey("known: " + binderKeys)
			}
			return err
		})
	}
	envPath := props.EnvironmentPath(s)
	if addr != "" {
		out.addr = addr
	}
	if fromURL != nil {
		// url and address both set: see props.URLOverAddress
		// (STREAM_REDIS_BINDER_URL overrides a file's address).
		addrWins, ignored := props.URLOverAddress(urlAt, addrAt, addr != fromURL.Addr)
		if !addrWins {
			out.addr = fromURL.Addr
		}
		if ignored[0] != "" {
			out.ignored = append(out.ignored, ignored)
		}
		out.username, out.password = urlCredentials(&out, fromURL, urlAt, userAt, passAt)
		// Its database as its credentials (urlCredentials): Spring Boot's
		// url overrides database too.
		switch {
		case !urlDB || out.db == fromURL.DB:
		case !dbAt.Given():
			out.db = fromURL.DB
		case dbAt.Src > urlAt.Src:
			out.ignored = append(out.ignored, [2]string{urlAt.Path + " (its database)", dbAt.Path})
		default:
			out.ignored = append(out.ignored, [2]string{dbAt.Path, urlAt.Path})
			out.db = fromURL.DB
		}
		if fromURL.TLSConfig != nil {
			if ts.Enabled != nil && !*ts.Enabled {
				// Either would be a guess: plain text to a server the url
				// says speaks TLS (credentials in clear), or TLS where
				// plain text was asked for.
				d.Addf(tlsAt.path, "false, but url (%s) is rediss://, which asks for TLS: use a redis:// url for plain text, or drop %s", urlAt.Path, tlsAt.path)
			}
			ts.Set = true
		}
	}
	// Checks of two settings together report at the key given (its
	// file:line), else where to set it.
	at := func(key string, norm ...string) string { return props.SettingPath(s, Type, key, d.GivenAt(norm...)) }
	if out.username != "" && out.password == "" {
		d.Addf(cmp.Or(d.GivenAt("username", "user"), urlAt.Path, at("username")), "given without a password: set %s too", at("password"))
	}
	if out.healthTimeout > out.healthInterval*5 {
		if iv := d.GivenAt("healthinterval"); iv != "" && d.GivenAt("healthtimeout") == "" {
			d.Addf(iv, "must be at least a fifth of health-timeout (%s)", out.healthTimeout)
		} else {
			d.Addf(at("health-timeout", "healthtimeout"), "must not be above 5 × health-interval (%s)", out.healthInterval)
		}
	}
	if out.maxLength < 0 && !out.trimAcked && out.maxAge == 0 {
		d.Addf(at("max-length", "maxlength", "maxlen"), "-1 (no cap) needs trim-acked or max-age: streams would grow without bound")
	}
	if !dlSizeSet {
		// The default follows a lower max-message-size: setting only that
		// is not an error about a key the user never set.
		out.deadLetterMaxSize = min(out.deadLetterMaxSize, out.maxMessageSize)
	}
	if out.deadLetterMaxSize > out.maxMessageSize {
		d.Addf(at("dead-letter-max-size", "deadlettermaxsize"), "must not be above max-message-size (%d)", out.maxMessageSize)
	}
	ts.SkipFiles = s.SkipFiles
	out.tls = ts.Build(&d, envPath)
	if out.tls != nil && out.tls.ServerName == "" {
		// Verify the server by the host it is dialled at.
		if h, _, err := net.SplitHostPort(out.addr); err == nil {
			out.tls.ServerName = h
		}
	}
	if err := d.Err(); err != nil {
		return settings{}, fmt.Errorf("redis binder %q: %w", s.Name, secrets.Redact(err, out.secrets))
	}
	return out, nil
}

// urlCredentials returns the username and password to log in with when
// url is set (o is the url's options), and adds to out.ignored the
// settings it overrides. A url with user info wins over username and
// password set in the same source, as it wins over address there (and as
// Spring Boot's spring.data.redis.url overrides username and password):
// STREAM_REDIS_BINDER_URL with new credentials overrides a file's
// password. username or password set in a later source (the binder's
// environment over stream.redis.binder's url) win over the url's. A url
// without user info takes them from the keys.
func urlCredentials(out *settings, o *goredis.Options, urlAt, userAt, passAt props.SetAt) (username, password string) {
	if o.Username == "" && o.Password == "" {
		return out.username, out.password
	}
	username, password = o.Username, o.Password
	for _, k := range []struct {
		at       props.SetAt
		key, url string
		dst      *string
		what     string
	}{
		{userAt, out.username, o.Username, &username, "user"},
		{passAt, out.password, o.Password, &password, "password"},
	} {
		switch {
		case !k.at.Given() || k.key == k.url:
		case k.at.Src > urlAt.Src:
			// Set in a later source: the key wins.
			*k.dst = k.key
			out.ignored = append(out.ignored, [2]string{urlAt.Path + " (its " + k.what + ")", k.at.Path})
		default:
			out.ignored = append(out.ignored, [2]string{k.at.Path, urlAt.Path})
		}
	}
	return username, password
}

// hostPort normalises host or host:port (default port 6379).
func hostPort(a string) (string, error) {
	if a == "" {
		return "", conf.ErrEmpty
	}
	if strings.Contains(a, "://") || strings.Contains(a, "@") {
		return "", errors.New("want host:port (not shown: it looks like a URL, which may hold a password; use url for that)")
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		if strings.Count(a, ":") > 1 && !strings.HasPrefix(a, "[") {
			return "", fmt.Errorf("want host:port, got %q (write an IPv6 address as [addr]:port)", a)
		}
		host, port = a, "6379"
		// "[::1]": the brackets are the address's, not the host's
		// (joined again they made "[[::1]]:6379").
		if strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]") {
			host = a[1 : len(a)-1]
		}
	}
	if host == "" {
		return "", fmt.Errorf("want host:port, got %q (no host)", a)
	}
	if err := checkPort(port); err != nil {
		return "", fmt.Errorf("want host:port, got %q: %w", a, err)
	}
	if err := conf.HostPort(net.JoinHostPort(host, port)); err != nil {
		return "", fmt.Errorf("want host:port, got %q: %w", a, err)
	}
	return net.JoinHostPort(host, port), nil
}

// namesDB reports whether the redis URL raw names a database, in its
// path (redis://host:6379/2) or, as go-redis also reads it, in a db query
// parameter (redis://host:6379?db=2); without one go-redis takes 0 and
// the db key applies.
func namesDB(raw string) bool {
	_, rest, _ := strings.Cut(strings.TrimSpace(raw), "://")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	rest, query, _ := strings.Cut(rest, "?")
	if q, err := url.ParseQuery(query); err == nil && q.Has("db") {
		return true
	}
	_, path, ok := strings.Cut(rest, "/")
	return ok && path != ""
}

// parseURL reads a redis:// or rediss:// URL. Errors never show the URL.
func parseURL(raw string) (*goredis.Options, []string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil, conf.ErrEmpty
	}
	var secrets []string
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			ui := rest[:at]
			if c := strings.Index(ui, ":"); c >= 0 {
				secrets = append(secrets, ui[c+1:])
			}
			secrets = append(secrets, ui)
		}
	}
	if !strings.HasPrefix(raw, "redis://") && !strings.HasPrefix(raw, "rediss://") {
		return nil, secrets, errors.New("want redis://host:6379/0 or rediss://…, a user and password before the host (not shown: it may hold a password)")
	}
	if err := conf.AtAfterHost(raw); err != nil {
		return nil, secrets, err
	}
	o, err := goredis.ParseURL(raw)
	if err != nil {
		return nil, secrets, errors.New("not a valid redis URL (not shown: it may hold a password): want redis://host:6379/0 or rediss://…, a user and password before the host, with reserved characters percent-encoded")
	}
	if o.Password != "" {
		secrets = append(secrets, o.Password)
	}
	if _, port, err := net.SplitHostPort(o.Addr); err == nil {
		if err := checkPort(port); err != nil {
			return nil, secrets, fmt.Errorf("its %w (the url is not shown: it may hold a password)", err)
		}
	}
	// go-redis joins the URL's host and port (redis://h:6379:99 is host
	// "h:6379", port 99), which the dial cannot use.
	if err := conf.HostPort(o.Addr); err != nil {
		return nil, secrets, fmt.Errorf("its host or port: %w (the url is %s)", err, conf.NotShown)
	}
	return o, secrets, nil
}

// checkPort refuses a port that is not a number from 1 to 65535, which
// would only fail at the first connection, retried as an unreachable
// server.
func checkPort(port string) error {
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a port (1-65535)", port)
	}
	return nil
}

// producerSettings are a producer binding's Redis properties.
type producerSettings struct {
	sendAttempts int
	batchSize    int
	waitReplicas int
	waitTimeout  time.Duration
}

const producerKeys = "send-attempts, batch-size, wait-replicas, wait-timeout"

func parseProducer(binding string, ext map[string]any) (producerSettings, error) {
	out := producerSettings{sendAttempts: DefaultSendAttempts, batchSize: DefaultSendBatch, waitTimeout: DefaultWaitTimeout}
	var d props.Decoder
	d.Each(props.BindingPath(Type, binding, "producer"), ext, func(k, _ string, v any) (err error) {
		switch k {
		case "sendattempts":
			out.sendAttempts, err = props.Int(v, 1)
		case "batchsize":
			out.batchSize, err = props.Int(v, 1)
		case "waitreplicas":
			out.waitReplicas, err = props.Int(v, 0)
		case "waittimeout":
			out.waitTimeout, err = interval(v)
		default:
			err = props.UnknownKey("known: " + producerKeys)
		}
		return err
	})
	return out, d.Err()
}

// consumerSettings are a consumer binding's Redis properties.
type consumerSettings struct {
	startOffset     string // "", earliest, latest
	claimMinIdle    time.Duration
	claimInterval   time.Duration
	maxDeliveries   int // -1: unlimited
	redeliveryDelay time.Duration
	prefetch        int
	batchSize       int
	dlqName         string
	partitionCount  int // 0: discovered
}

const consumerKeys = "start-offset, claim-min-idle, claim-interval, max-deliveries (or max-deliver), redelivery-delay, prefetch, batch-size, dlq-name, partition-count"

func parseConsumer(binding string, ext map[string]any) (consumerSettings, error) {
	out := consumerSettings{
		claimMinIdle:    DefaultClaimMinIdle,
		claimInterval:   DefaultClaimInterval,
		maxDeliveries:   DefaultMaxDeliveries,
		redeliveryDelay: DefaultRedeliveryDelay,
		prefetch:        DefaultPrefetch,
		batchSize:       DefaultBatchSize,
	}
	var d props.Decoder
	path := props.BindingPath(Type, binding, "consumer")
	maxDeliveriesSet := false
	d.Each(path, ext, func(k, _ string, v any) (err error) {
		switch k {
		case "startoffset":
			var s string
			if s, err = conf.String(v); err != nil {
				return err
			}
			switch strings.ToLower(s) {
			case "earliest", "first", "oldest":
				out.startOffset = "earliest"
			case "latest", "last", "newest", "new":
				out.startOffset = "latest"
			default:
				return fmt.Errorf("want earliest or latest, got %q", s)
			}
		case "claimminidle":
			out.claimMinIdle, err = interval(v)
		case "claiminterval":
			out.claimInterval, err = interval(v)
		case "maxdeliveries", "maxdeliver": // and the nats binder's (JetStream's) name
			if maxDeliveriesSet {
				return errors.New("set max-deliveries or max-deliver (the same setting), not both")
			}
			maxDeliveriesSet = true
			var n int
			if n, err = props.Int(v, -1); err == nil {
				if n == 0 {
					return errors.New("must be -1 (unlimited) or at least 1, got 0")
				}
				out.maxDeliveries = n
			}
		case "redeliverydelay":
			out.redeliveryDelay, err = props.Duration(v, true)
		case "prefetch":
			out.prefetch, err = props.Int(v, 1)
		case "batchsize":
			out.batchSize, err = props.Int(v, 1)
		case "dlqname":
			out.dlqName, err = conf.String(v)
			if err == nil && out.dlqName == "" {
				err = errors.New("must not be empty")
			}
		case "partitioncount":
			out.partitionCount, err = props.Int(v, 1)
		default:
			err = props.UnknownKey("known: " + consumerKeys)
		}
		return err
	})
	return out, d.Err()
}
