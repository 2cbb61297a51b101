package rabbit

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/internal/conf"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// Type is the binder type name the RabbitMQ binder is registered under.
const Type = "rabbit"

// Defaults of the binder settings and binding properties (see the package
// doc for what each one does).
const (
	DefaultAddress           = "127.0.0.1:5672"
	DefaultUsername          = "guest"
	DefaultPassword          = "guest"
	DefaultVirtualHost       = "/"
	DefaultConnectionName    = "streambind"
	DefaultHeartbeat         = 10 * time.Second
	DefaultConnectionTimeout = 5 * time.Second
	DefaultReconnectInitial  = 100 * time.Millisecond
	DefaultReconnectMax      = 5 * time.Second
	DefaultPublisherChannels = 2
	DefaultConfirmWindow     = 256
	DefaultPrefetch          = 128

	// maxPublisherChannels and maxConfirmWindow bound publisher-channels
	// and confirm-window: the lanes and their windows are allocated when
	// the binder is created, and the broker's channel_max is 2047 by
	// default.
	maxPublisherChannels = 256
	maxConfirmWindow     = 65536
	DefaultBatchSize     = 64
	// DefaultMaxMessageSize is RabbitMQ's default max_message_size (128 MiB).
	DefaultMaxMessageSize = 128 << 20
	// DefaultCompressionLevel is the gzip level of compress: true
	// producers, SCSt's compression-level default (Deflater.BEST_SPEED).
	DefaultCompressionLevel = 1
	// DefaultRedeliveryDelay is how long a Nak'ed message is held before it
	// is requeued (as on the Kafka binder).
	DefaultRedeliveryDelay   = 100 * time.Millisecond
	DefaultExchangeType      = "topic"
	DefaultBindingRoutingKey = "#"
	// DefaultAnonymousGroupPrefix starts the group part of an anonymous
	// consumer's queue name (SCSt's anonymous-group-prefix default).
	DefaultAnonymousGroupPrefix = "anonymous."
	// DLXName is the exchange dead letters go to unless
	// dead-letter-exchange names another (SCSt's default, without prefix).
	DLXName = "DLX"
	// DefaultDeadLetterExchangeType is the type the DLX is declared with
	// (dead-letter-exchange-type).
	DefaultDeadLetterExchangeType = "direct"
)

// settings are the decoded binder settings.
type settings struct {
	// ignored lists the settings another one overrides (uri and addresses
	// both set), as {ignored key, the key that wins}, for a WARN line.
	ignored [][2]string
	// endpoints are the brokers to connect to, tried in order, each with
	// the credentials, virtual host and scheme that apply to it (see
	// resolve).
	endpoints []endpoint
	// entries are the addresses as given; resolve makes endpoints of them.
	entries        []addressEntry
	username       string
	password       string
	vhost          string
	connectionName string
	// connNamePrefix (SCSt's connection-name-prefix), when set, names the
	// binder's connections <prefix>#<n>, n counted from 0 by connSeq for
	// every connection opened (as SCSt's connection name strategy does),
	// instead of connection-name-<role>.
	connNamePrefix string
	connSeq        *atomic.Int64
	heartbeat      time.Duration
	connTimeout    time.Duration
	reconnectInit  time.Duration
	reconnectMax   time.Duration
	pubChannels    int
	confirmWindow  int
	maxMessageSize int
	// compressionLevel is the gzip level of compress: true producers
	// (SCSt's compression-level, java.util.zip.Deflater's levels: -1
	// default, 0 none, 1 fastest to 9 smallest).
	compressionLevel int
	tls              tlsSettings
}

type tlsSettings struct {
	enabled            bool
	caFile             string
	certFile           string
	keyFile            string
	serverName         string
	insecureSkipVerify bool
	// path is the key path of the tls settings; caPath, certPath and
	// keyPath those of the keys that named the files (the uri's for its
	// cacertfile, certfile and keyfile), where their problems are
	// reported.
	path, caPath, certPath, keyPath string
	// skipFiles: tlsConfig reads none of the files
	// (stream.BinderSettings SkipFiles).
	skipFiles bool
}

func defaultSettings() settings {
	return settings{
		entries:        []addressEntry{{hostPort: DefaultAddress, hasPort: true}},
		username:       DefaultUsername,
		password:       DefaultPassword,
		vhost:          DefaultVirtualHost,
		connectionName: DefaultConnectionName,
		heartbeat:      DefaultHeartbeat,
		connTimeout:    DefaultConnectionTimeout,
		reconnectInit:  DefaultReconnectInitial,
		reconnectMax:   DefaultReconnectMax,
		pubChannels:    DefaultPublisherChannels,
		confirmWindow:  DefaultConfirmWindow,
		maxMessageSize: DefaultMaxMessageSize,
		// SCSt's default: Deflater.BEST_SPEED.
		compressionLevel: DefaultCompressionLevel,
	}
}

// endpoint is one broker address and what to connect to it with.
type endpoint struct {
	hostPort string // host:port
	tls      bool
	username string
	password string
	vhost    string
}

// endpoint returns endpoint i, cycling through them.
func (s settings) endpoint(i int) endpoint { return s.endpoints[i%len(s.endpoints)] }

// redacted returns the URL of endpoint i without the password, for logs
// and errors: "amqp://guest:******@host:5672/vhost" (redact.URL).
func (s settings) redacted(i int) string {
	ep := s.endpoint(i)
	u := url.URL{Scheme: "amqp", User: url.UserPassword(ep.username, ep.password), Host: ep.hostPort}
	if ep.tls {
		u.Scheme = "amqps"
	}
	u.Path = "/" + ep.vhost
	u.RawPath = "/" + url.PathEscape(ep.vhost)
	return redact.URL(&u)
}

// connectionNameFor is the name the next connection of role (publisher,
// consumer) is given: <connection-name-prefix>#<n> when the prefix is set,
// else <connection-name>-<role>.
func (s settings) connectionNameFor(role string) string {
	if s.connNamePrefix == "" {
		return s.connectionName + "-" + role
	}
	return s.connNamePrefix + "#" + strconv.FormatInt(s.connSeq.Add(1)-1, 10)
}

// usesTLS reports whether any endpoint is reached over TLS.
func (s settings) usesTLS() bool {
	for _, ep := range s.endpoints {
		if ep.tls {
			return true
		}
	}
	return false
}

// Redact returns an AMQP URI with its password replaced by "******"
// (redact.Redacted; see redact.URL), for logs and errors. amqp.URI.String
// includes the password; never log it. A string that does not parse is
// returned as "<unparseable amqp uri>", as it may hold a password too.
func Redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "<unparseable amqp uri>"
	}
	return redact.URL(u)
}

// tlsConfig builds the client TLS configuration of the tls settings
// (used for the endpoints reached over TLS). Its error is a
// *stream.ConfigError, or stream.ConfigErrors for several, each at the key
// that set what is wrong; a problem with a file (it cannot be read, it
// holds no PEM certificate, the client certificate does not load) reads
// "file <name>: ..." (conf.FileProblem), and every file is checked.
func (s settings) tlsConfig() (*tls.Config, error) {
	t := conf.TLS{Set: true, CAFile: s.tls.caFile, CertFile: s.tls.certFile, KeyFile: s.tls.keyFile,
		ServerName: s.tls.serverName, SkipVerify: s.tls.insecureSkipVerify,
		CAPath: s.tls.caPath, CertPath: s.tls.certPath, KeyPath: s.tls.keyPath, SkipFiles: s.tls.skipFiles}
	// Build reports what is not about one file under <path>.tls.
	path := "stream.rabbit.binder"
	if i := strings.LastIndex(s.tls.path, "."); i > 0 {
		path = s.tls.path[:i]
	}
	var d props.Decoder
	c := t.Build(&d, path)
	if err := d.Err(); err != nil {
		var ces stream.ConfigErrors
		if errors.As(err, &ces) && len(ces) == 1 {
			return nil, ces[0]
		}
		return nil, err
	}
	return c, nil
}

// parseSettings decodes s.Binder (stream.rabbit.binder) and then
// s.Environment (stream.binders.<name>.environment), which wins. Keys are
// matched ignoring case, '-' and '_'. Every problem is reported.
func parseSettings(s stream.BinderSettings) (settings, error) {
	out := defaultSettings()
	var d props.Decoder
	var nameSet, prefixSet bool
	// Where uri and addresses were set: the index of their source (0:
	// stream.rabbit.binder, 1: the binder's environment) and key path.
	var uriAt, addrAt props.SetAt
	// host, which addresses replace wherever either is set, as in Spring
	// Boot (spring.rabbitmq.addresses over spring.rabbitmq.host).
	var hostAt props.SetAt
	var hostEntries []addressEntry
	for i, src := range props.BinderSources(s, Type) {
		d.Each(src.Path, d.Nest(src.Path, src.Map, binderSections...), func(k, path string, v any) (err error) {
			switch k {
			case "uri", "url":
				var str string
				if str, err = props.String(v); err == nil {
					if err = out.applyURI(str, path); err == nil {
						uriAt = props.SetAt{Src: i, Path: path}
					}
				}
			case "addresses", "address":
				var list []string
				if list, err = props.List(v); err == nil {
					if out.entries, err = parseAddresses(list); err == nil {
						addrAt = props.SetAt{Src: i, Path: path}
					}
				}
			case "host":
				// Spring Boot's: addresses win over it (below).
				var list []string
				if list, err = props.List(v); err == nil {
					if hostEntries, err = parseAddresses(list); err == nil {
						hostAt = props.SetAt{Src: i, Path: path}
					}
				}
			case "username":
				out.username, err = props.String(v)
			case "password":
				out.password, err = props.String(v)
			case "virtualhost", "vhost":
				out.vhost, err = props.String(v)
			case "connectionname":
				out.connectionName, err = props.String(v)
				nameSet = true
			case "connectionnameprefix":
				out.connNamePrefix, err = props.String(v)
				prefixSet = true
			case "heartbeat":
				out.heartbeat, err = props.Duration(v, true)
			case "connectiontimeout":
				out.connTimeout, err = props.Duration(v, false)
			case "reconnectinitialinterval":
				out.reconnectInit, err = props.Duration(v, false)
			case "reconnectmaxinterval":
				out.reconnectMax, err = props.Duration(v, false)
			case "publisherchannels":
				out.pubChannels, err = intAtMost(v, 1, maxPublisherChannels, "each lane is a channel of the publisher connection, with a confirm-window of its own")
			case "confirmwindow":
				out.confirmWindow, err = intAtMost(v, 1, maxConfirmWindow, "each lane's window is allocated when the binder is created")
			case "maxmessagesize":
				out.maxMessageSize, err = props.Size(v, 1)
			case "tls", "ssl":
				err = out.applyTLS(&d, path, v)
			case "compressionlevel":
				// SCSt's, for producers with compress: true.
				if out.compressionLevel, err = props.Int(v, -1); err == nil && out.compressionLevel > 9 {
					err = fmt.Errorf("want -1 to 9 (java.util.zip.Deflater), got %d", out.compressionLevel)
				}
			default:
				if ok, serr := scstKey("binder", k, v); ok {
					return serr
				}
				err = props.UnknownKey("the rabbit binder accepts uri, addresses, username, password, virtual-host, connection-name, heartbeat, connection-timeout, reconnect-initial-interval, reconnect-max-interval, publisher-channels, confirm-window, max-message-size, tls, connection-name-prefix, compression-level")
			}
			return err
		})
	}
	switch {
	case hostAt.Path != "" && addrAt.Path == "":
		out.entries, addrAt = hostEntries, hostAt
	case hostAt.Path != "":
		out.ignored = append(out.ignored, [2]string{hostAt.Path, addrAt.Path})
	}
	// uri and addresses both set: see props.URLOverAddress
	// (STREAM_RABBIT_BINDER_URI overrides a file's addresses); winning
	// addresses keep the uri's user, password, virtual host and TLS where
	// an entry gives none (resolve).
	same := len(out.entries) == 1 && len(out.endpoints) == 1 && out.entries[0].hostPort == out.endpoints[0].hostPort
	addrsWin, ignored := props.URLOverAddress(uriAt, addrAt, !same)
	if ignored[0] != "" {
		out.ignored = append(out.ignored, ignored)
	}
	if nameSet && prefixSet {
		// At the key given last (its file:line), naming the other.
		first, second := d.GivenAt("connectionname"), d.GivenAt("connectionnameprefix")
		if d.GivenAt("connectionname", "connectionnameprefix") == first {
			first, second = second, first
		}
		d.Addf(second, "set connection-name or connection-name-prefix (SCSt's), not both (%s is set too)", first)
	}
	out.connSeq = new(atomic.Int64)
	if out.reconnectMax < out.reconnectInit {
		// At the key given (its file:line), else where to set it.
		if at := d.GivenAt("reconnectinitialinterval"); at != "" && d.GivenAt("reconnectmaxinterval") == "" {
			d.Addf(at, "must not be above reconnect-max-interval (%s)", out.reconnectMax)
		} else {
			d.Addf(props.SettingPath(s, Type, "reconnect-max-interval", d.GivenAt("reconnectmaxinterval")), "must not be below reconnect-initial-interval (%s)", out.reconnectInit)
		}
	}
	if !uriAt.Given() || addrsWin {
		out.resolve()
	}
	if err := d.Err(); err != nil {
		return settings{}, fmt.Errorf("rabbit binder %q: %w", s.Name, err)
	}
	out.tls.skipFiles = s.SkipFiles
	return out, nil
}

// applyURI applies the uri setting raw, set at key path.
func (s *settings) applyURI(raw, path string) error {
	if strings.TrimSpace(raw) == "" {
		return conf.ErrEmpty
	}
	// amqp.ParseURI reads amqp://u:12345/secret@h as host "u", port
	// 12345 and virtual host "secret@h", which the dial's error and the
	// binder's messages would show.
	if err := conf.AtAfterHost(raw); err != nil {
		return fmt.Errorf("bad amqp uri: %w; want the form amqp[s]://[USER[:PASSWORD]@]HOST[:PORT][/VHOST]", err)
	}
	u, err := amqp.ParseURI(raw)
	if err != nil {
		// Neither the URI nor the parser's message is shown: both may hold
		// the password, which is exactly what a URI fails on when a
		// reserved character in it is not percent-encoded.
		// The form is written so that redaction (lint, logs) does not take
		// it for a URI with a password and mask it.
		return errors.New("bad amqp uri (not shown: it may hold a password): want the form amqp[s]://[USER[:PASSWORD]@]HOST[:PORT][/VHOST], with @ : / ? # in the user and password percent-encoded")
	}
	hostPort := net.JoinHostPort(u.Host, strconv.Itoa(u.Port))
	if err := dialAddress(hostPort); err != nil {
		return fmt.Errorf("bad amqp uri: its host or port: %w (the uri is %s)", err, conf.NotShown)
	}
	s.username, s.password, s.vhost = u.Username, u.Password, u.Vhost
	if u.Scheme == "amqps" {
		s.tls.enabled = true
	}
	s.endpoints = []endpoint{{hostPort: hostPort, tls: u.Scheme == "amqps",
		username: u.Username, password: u.Password, vhost: u.Vhost}}
	if u.CACertFile != "" {
		s.tls.caFile, s.tls.caPath = u.CACertFile, path
	}
	if u.CertFile != "" {
		s.tls.certFile, s.tls.certPath = u.CertFile, path
	}
	if u.KeyFile != "" {
		s.tls.keyFile, s.tls.keyPath = u.KeyFile, path
	}
	if s.tls.path == "" && (u.CACertFile != "" || u.CertFile != "" || u.KeyFile != "") {
		s.tls.path = path // its parent is where a tls key would be
	}
	if u.ServerName != "" {
		s.tls.serverName = u.ServerName
	}
	return nil
}

// addressEntry is one entry of the addresses setting, as Spring Boot reads
// spring.rabbitmq.addresses: [amqp://|amqps://][user[:password]@]host[:port][/vhost].
// What an entry leaves out comes from the first entry, then from the
// binder's settings (see resolve).
type addressEntry struct {
	hostPort string // host:port, or host alone ("" port: the default)
	hasPort  bool
	tls      *bool // nil: not given (no scheme)
	username *string
	password *string
	vhost    *string
}

// parseAddresses parses the entries of the addresses setting. An error
// names the entry by its position and never shows its user info (it may
// hold a password).
func parseAddresses(list []string) ([]addressEntry, error) {
	if len(list) == 0 {
		return nil, conf.ErrEmpty
	}
	out := make([]addressEntry, 0, len(list))
	for i, raw := range list {
		e, err := parseAddress(raw)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w (want [amqp://|amqps://][user[:password]@]host[:port][/virtual-host]; the entry is not shown: it may hold a password)", i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// parseAddress parses one addresses entry the way Spring Boot does (user
// info and virtual host are taken literally, not percent-decoded), except
// that the user info ends at the last '@', so that a password may hold one.
func parseAddress(raw string) (addressEntry, error) {
	var e addressEntry
	in := strings.TrimSpace(raw)
	if i := strings.Index(in, "://"); i >= 0 {
		var on bool
		switch strings.ToLower(in[:i]) {
		case "amqp":
		case "amqps":
			on = true
		default:
			return e, errors.New("unknown scheme (want amqp:// or amqps://)")
		}
		e.tls = &on
		in = in[i+3:]
	}
	if at := strings.LastIndex(in, "@"); at >= 0 {
		creds := in[:at]
		in = in[at+1:]
		user, pass, hasPass := strings.Cut(creds, ":")
		if user == "" {
			return e, errors.New("empty user name before '@'")
		}
		e.username = &user
		if hasPass {
			e.password = &pass
		}
	}
	if slash := strings.Index(in, "/"); slash >= 0 {
		if vh := in[slash+1:]; vh != "" {
			e.vhost = &vh
		}
		in = in[:slash]
	}
	if in == "" {
		return e, errors.New("no host")
	}
	if strings.ContainsAny(in, " \t?#") {
		return e, errors.New("the host holds a space, '?' or '#'")
	}
	host, port, err := net.SplitHostPort(in)
	if err != nil {
		// No port: a host name, an IPv4 address or an IPv6 address
		// (bracketed or not).
		host = in
		if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			host = host[1 : len(host)-1]
		}
		if strings.ContainsAny(host, "[]") || strings.Contains(host, ":") && net.ParseIP(host) == nil {
			return e, errors.New("malformed host or port")
		}
		if err := dialAddress(net.JoinHostPort(host, "5672")); err != nil {
			return e, fmt.Errorf("malformed host: %w", err)
		}
		e.hostPort = host
		return e, nil
	}
	if host == "" {
		return e, errors.New("no host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return e, errors.New("the port is not a number from 1 to 65535")
	}
	if err := dialAddress(net.JoinHostPort(host, port)); err != nil {
		return e, fmt.Errorf("malformed host: %w", err)
	}
	e.hostPort, e.hasPort = net.JoinHostPort(host, port), true
	return e, nil
}

// dialAddress checks host:port hp as the dial will take it: conf.HostPort,
// and amqp.ParseURI of the URL the dial makes of it ("amqp://" + hp + "/",
// see dial). An amqp uri's host may hold what its parser does not refuse
// but the dial cannot use (amqp://h:5672:99 is host "h:5672", port 99),
// as may an addresses entry (an IPv6 zone without the "%25" a URL wants).
// Its errors do not show hp. An IPv6 zone that fails so (fe80::1%eth0: the
// uri's %25 decoded, or an addresses entry's raw '%') is said to be one.
func dialAddress(hp string) error {
	if err := conf.HostPort(hp); err != nil {
		return err
	}
	if _, err := amqp.ParseURI("amqp://" + hp + "/"); err != nil {
		if host, _, _ := net.SplitHostPort(hp); strings.Contains(host, "%") {
			return errors.New("an IPv6 zone (fe80::1%eth0) is not supported by the AMQP client as given: the uri cannot hold one, an addresses entry can with its '%' written %25 ([fe80::1%25eth0]:5672)")
		}
		return errors.New("the host does not parse in an AMQP URL")
	}
	return nil
}

// resolve makes s.endpoints of s.entries. As in Spring Boot, an entry's
// own user name, password, virtual host and scheme win; what it leaves
// out comes from the first entry, else from the username, password,
// virtual-host and tls settings. The port defaults to 5671 over TLS, else
// 5672.
func (s *settings) resolve() {
	first := addressEntry{}
	if len(s.entries) > 0 {
		first = s.entries[0]
	}
	pick := func(own, fst *string, def string) string {
		switch {
		case own != nil:
			return *own
		case fst != nil:
			return *fst
		}
		return def
	}
	s.endpoints = s.endpoints[:0]
	for _, e := range s.entries {
		ep := endpoint{hostPort: e.hostPort, tls: s.tls.enabled,
			username: pick(e.username, first.username, s.username),
			vhost:    pick(e.vhost, first.vhost, s.vhost)}
		switch {
		case e.tls != nil:
			ep.tls = *e.tls
		case first.tls != nil:
			ep.tls = *first.tls
		}
		// A password goes with the user name it was given with.
		switch {
		case e.username != nil:
			ep.password = pick(e.password, nil, s.password)
		case first.username != nil:
			ep.password = pick(first.password, nil, s.password)
		default:
			ep.password = s.password
		}
		if !e.hasPort {
			port := "5672"
			if ep.tls {
				port = "5671"
			}
			ep.hostPort = net.JoinHostPort(e.hostPort, port)
		}
		s.endpoints = append(s.endpoints, ep)
	}
}

// redactErr returns the message of a dial error without secrets
// (redact.StringWith: the password wherever it occurs when it has 4 bytes
// or more, else where it stands as one, so that a one-letter password does
// not mangle the message; URL passwords always). A URL parse error is
// never passed through (it quotes the URL, user info and all): it becomes
// a generic message naming the setting.
func redactErr(err error, ep endpoint) string {
	var ue *url.Error
	var ne *strconv.NumError
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return "the address does not parse as an AMQP URL (check the addresses or uri setting; not shown: it may hold a password)"
	}
	return redact.StringWith(err.Error(), ep.password)
}

func (s *settings) applyTLS(d *props.Decoder, path string, v any) error {
	s.tls.path = path
	m, ok := v.(map[string]any)
	if !ok {
		b, err := props.Bool(v)
		if err != nil {
			return errors.New("want a map (enabled, ca-file, cert-file, key-file, server-name, insecure-skip-verify) or a bool")
		}
		s.tls.enabled = b
		return nil
	}
	s.tls.enabled = true
	d.Each(path, m, func(k, kp string, v any) (err error) {
		switch k {
		case "enabled":
			s.tls.enabled, err = props.Bool(v)
		case "cafile", "cacertfile", "ca":
			s.tls.caFile, err = props.String(v)
			s.tls.caPath = kp
		case "certfile", "cert":
			s.tls.certFile, err = props.String(v)
			s.tls.certPath = kp
		case "keyfile", "key":
			s.tls.keyFile, err = props.String(v)
			s.tls.keyPath = kp
		case "servername":
			s.tls.serverName, err = props.String(v)
		case "insecureskipverify":
			s.tls.insecureSkipVerify, err = props.Bool(v)
		default:
			err = props.UnknownKey("tls accepts enabled, ca-file, cert-file, key-file, server-name, insecure-skip-verify")
		}
		return err
	})
	return nil
}

// consumerOptions are stream.rabbit.bindings.<b>.consumer.
type consumerOptions struct {
	queueOptions
	prefetch        int
	requeueRejected bool
	// republishToDlq: a failed message of a binding with dlq (a named
	// group's, or an anonymous consumer's, which has no DLQ) is published
	// to the DLX by the binder, with the x-exception-* headers (SCSt's
	// republish-to-dlq, default true); false rejects it without requeue and
	// the broker dead-letters it through the queue's x-dead-letter-*
	// arguments.
	republishToDlq bool
	// republishTransient: the binder's dead letters (republish-to-dlq) go
	// with delivery mode 1, transient (SCSt's republish-delivery-mode
	// NON_PERSISTENT); persistent (2) otherwise, SCSt's default.
	republishTransient bool
	// nonDurable: a named group's queue is declared non-durable and
	// auto-delete, without a DLQ (SCSt's durable-subscription: false; see
	// consumer.topology and consumer.dlq).
	nonDurable      bool
	batchSize       int
	redeliveryDelay time.Duration
	// receiveTimeout (SCSt's receive-timeout) is how long a batch
	// (batch-mode) waits for each next delivery before it is handed over
	// short of batch-size, as Spring AMQP's consumer batching waits in
	// receive; 0 (unset): not at all, the batch is what had arrived.
	receiveTimeout time.Duration
	// consumerTagPrefix (SCSt's consumer-tag-prefix): the binding's
	// consumers are tagged <prefix>#<n>, n counted from 0 by tagSeq, which
	// every consumer of the binding shares (as SCSt's tag strategy does);
	// "" leaves the tag to the binder.
	consumerTagPrefix string
	tagSeq            *atomic.Int64
	// maxConcurrency (SCSt's max-concurrency) and the key that set it,
	// when it is above the binding's consumer.concurrency: SCSt's
	// listener container then grows from concurrency consumers up to it
	// under load; the binder has no such scaling and runs concurrency
	// consumers, with a WARN at bind (BindConsumer). 0 otherwise.
	maxConcurrency    int
	maxConcurrencyKey string
}

// consumerTag is the tag of the binding's next consumer (subscription):
// <consumer-tag-prefix>#<n> when the prefix is set, else
// streambind-<binding>-<random id>.
func (o consumerOptions) consumerTag(binding string) string {
	if o.consumerTagPrefix == "" {
		return "streambind-" + binding + "-" + randomID()
	}
	return o.consumerTagPrefix + "#" + strconv.FormatInt(o.tagSeq.Add(1)-1, 10)
}

// producerOptions are stream.rabbit.bindings.<b>.producer.
type producerOptions struct {
	queueOptions
	routingKey string // "" = the destination
	// routingKeyExpr is routing-key-expression, evaluated per message; nil
	// when not set. See parseRoutingKeyExpression.
	routingKeyExpr routingKeyFunc
	mandatory      bool
	// transient publishes with delivery mode 1 (SCSt's delivery-mode
	// NON_PERSISTENT); persistent (2) otherwise, SCSt's default.
	transient bool
	// autoBindDlq declares the required-groups queues with SCSt's
	// x-dead-letter-* arguments and their DLQs (SCSt's producer
	// auto-bind-dlq), so that they are the queues the consumers with dlq
	// declare.
	autoBindDlq bool
	// compress gzips every message's body (SCSt's compress: true; the
	// level is the binder's compression-level), as Spring AMQP's
	// GZipPostProcessor does.
	compress bool
	// batching publishes the messages of a routing key in Spring AMQP
	// batches (SCSt's batching-enabled: true; see batcher): at most
	// batchSize messages and batchBufferLimit bytes each, released after
	// batchTimeout at the latest.
	batching         bool
	batchSize        int
	batchBufferLimit int
	batchTimeout     time.Duration
}

// binderSections and bindingSections are the nested sections of the binder
// settings and of a binding's properties, so that their keys may come
// flat from environment variables (props.Decoder.Nest):
// ..._CONSUMER_QUORUM_DELIVERYLIMIT is quorum.delivery-limit. The
// argument maps hold the user's names (x-match), which a variable cannot
// spell.
var (
	binderSections = []props.Section{
		{Key: "tls", Scalar: "enabled"}, {Key: "ssl", Scalar: "enabled"},
	}
	bindingSections = []props.Section{
		{Key: "quorum", Scalar: "enabled"}, {Key: "dlq-quorum", Scalar: "enabled"},
		{Key: "alternate-exchange"},
		{Key: "queue-binding-arguments", Opaque: true}, {Key: "dlq-binding-arguments", Opaque: true},
	}
)

// consumerKeys and producerKeys list the keys the binder accepts, for the
// unknown-key error.
const (
	consumerKeys = "rabbit consumer properties: prefetch, requeue-rejected, republish-to-dlq, republish-delivery-mode, durable-subscription, redelivery-delay, batch-size, receive-timeout, consumer-tag-prefix, anonymous-group-prefix; " + commonKeys
	producerKeys = "rabbit producer properties: routing-key, routing-key-expression, mandatory, delivery-mode, auto-bind-dlq, compress, batching-enabled, batch-size, batch-buffer-limit, batch-timeout; " + commonKeys
)

// maxReceiveTimeout bounds receive-timeout: a batch waiting longer for its
// next delivery would hold the ones it has (unacknowledged, counting
// toward prefetch) for longer than any batching asks.
const maxReceiveTimeout = time.Hour

// atMostDur reads a duration from 0 to hi (a bare number: milliseconds).
func atMostDur(v any, hi time.Duration) (time.Duration, error) {
	d, err := props.Duration(v, true)
	if err == nil && d > hi {
		err = fmt.Errorf("must be at most %s, got %s", hi, d)
	}
	return d, err
}

// maxNameBytes is the longest exchange or queue name RabbitMQ accepts
// (a short string of AMQP 0-9-1: bytes of UTF-8).
const maxNameBytes = 255

// checkNames refuses the exchange or queue names of a binding that
// RabbitMQ would refuse at declaration (longer than 255 bytes), so that
// they are a configuration error at start-up, at key, not a bind retried.
func checkNames(key string, names ...[2]string) error {
	for _, n := range names {
		if len(n[1]) > maxNameBytes {
			return &stream.ConfigError{Path: key, Msg: fmt.Sprintf("%s %.40q... is %d bytes long: a RabbitMQ exchange or queue name has at most %d", n[0], n[1], len(n[1]), maxNameBytes)}
		}
	}
	return nil
}

// checkConsumerNames checks the exchange, queue, dead-letter exchange and
// queue a consumer binding declares (an anonymous one's queue with the
// 12-character id it gets at start). The exchange only when the binding
// declares it or binds to it: a dead-letter reader (DeadLetterSource)
// does neither, and its prefix and destination (the source's DLX, which
// starts with the prefix already) name no exchange it uses.
func checkConsumerNames(spec stream.ConsumerSpec, o consumerOptions) error {
	var names [][2]string
	if o.declareExchange || o.bindQueue {
		names = append(names, [2]string{"destination (the exchange)", o.exchange(spec.Destination)})
	}
	if spec.Group == "" {
		names = append(names, [2]string{"the anonymous queue", o.anonymousQueue(spec.Destination, idPlaceholder)})
	} else {
		q := o.queueName(spec.Destination, spec.Group, spec.Consumer.Partitioned, spec.Consumer.InstanceIndex)
		names = append(names, [2]string{"the queue of group " + spec.Group, q})
		if spec.Consumer.DLQ {
			names = append(names, [2]string{"the dead-letter queue of group " + spec.Group, o.dlqName(o.baseQueue(spec.Destination, spec.Group))},
				[2]string{"the dead-letter exchange", o.dlx()})
		}
		for _, d := range spec.Consumer.RetryDelays { // retryqueues.go
			names = append(names, [2]string{"the wait queue of group " + spec.Group + " for " + d.String(), RetryQueueName(q, d)})
		}
	}
	return checkNames("stream.bindings."+spec.Binding+".destination", names...)
}

// parseConsumerOptions decodes a consumer binding's rabbit properties ext;
// concurrency is the binding's consumer.concurrency, which max-concurrency
// is compared with.
func parseConsumerOptions(binding string, concurrency int, ext map[string]any) (consumerOptions, error) {
	o := consumerOptions{queueOptions: defaultQueueOptions(), prefetch: DefaultPrefetch, republishToDlq: true, batchSize: DefaultBatchSize, redeliveryDelay: DefaultRedeliveryDelay}
	var d props.Decoder
	path := props.BindingPath(Type, binding, "consumer")
	d.Each(path, d.Nest(path, ext, bindingSections...), func(k, kpath string, v any) (err error) {
		if ok, err := o.queueOptions.apply(&d, k, kpath, v); ok {
			return err
		}
		switch k {
		case "prefetch":
			// basic.qos carries a 16-bit count: a larger one went out
			// truncated (65536 as 0, no limit at all).
			o.prefetch, err = intAtMost(v, 1, math.MaxUint16, "AMQP's prefetch-count is 16 bits")
		case "requeuerejected":
			o.requeueRejected, err = props.Bool(v)
		case "republishtodlq":
			o.republishToDlq, err = props.Bool(v)
		case "republishdeliverymode", "republishdeliveymode":
			// SCSt's RabbitConsumerProperties spells it
			// republishDeliveyMode (field and setter), so that is the key
			// Spring Boot binds there (the correct spelling is bound to
			// nothing and ignored); both mean the same here.
			o.republishTransient, err = nonPersistent(v)
		case "durablesubscription":
			var durable bool
			durable, err = props.Bool(v)
			o.nonDurable = !durable
		case "batchsize":
			o.batchSize, err = props.Int(v, 1)
		case "receivetimeout":
			// A bare number counts milliseconds, as SCSt's Long.
			o.receiveTimeout, err = atMostDur(v, maxReceiveTimeout)
		case "redeliverydelay":
			o.redeliveryDelay, err = props.Duration(v, true)
		case "anonymousgroupprefix":
			o.anonymousGroupPrefix, err = props.String(v)
		case "consumertagprefix":
			// Room for "#" and a count: a tag is an AMQP short string.
			if o.consumerTagPrefix, err = props.String(v); err == nil && len(o.consumerTagPrefix) > maxNameBytes-21 {
				err = fmt.Errorf("is %d bytes long: a consumer tag, <prefix>#<n>, has at most %d", len(o.consumerTagPrefix), maxNameBytes)
			}
		case "maxconcurrency":
			// SCSt's listener container scales between concurrency and
			// max-concurrency consumers (a maximum is set only when
			// max-concurrency is above concurrency); the binder runs a
			// fixed number of workers, concurrency, which is what SCSt
			// runs while it is not under load: a value above it is kept
			// for BindConsumer's WARN that it is not honoured.
			var n int
			if n, err = props.Int(v, 1); err == nil && n > max(concurrency, 1) {
				o.maxConcurrency, o.maxConcurrencyKey = n, kpath
			}
		case "autobinddlq":
			// The config loader moves it to consumer.dlq; here only when
			// the binder is used without it.
			err = errors.New("set consumer.dlq (the config loader accepts auto-bind-dlq there)")
		default:
			if ok, serr := scstKey("consumer", k, v); ok {
				return serr
			}
			err = removedKey(k, consumerKeys)
		}
		return err
	})
	o.queueOptions.check(&d, path)
	o.tagSeq = new(atomic.Int64)
	return o, d.Err()
}

func parseProducerOptions(binding string, ext map[string]any) (producerOptions, error) {
	o := producerOptions{queueOptions: defaultQueueOptions(), mandatory: true,
		batchSize: DefaultProducerBatchSize, batchBufferLimit: DefaultProducerBatchBuffer, batchTimeout: DefaultProducerBatchWait}
	var d props.Decoder
	path := props.BindingPath(Type, binding, "producer")
	d.Each(path, d.Nest(path, ext, bindingSections...), func(k, kpath string, v any) (err error) {
		if ok, err := o.queueOptions.apply(&d, k, kpath, v); ok {
			return err
		}
		switch k {
		case "routingkey":
			o.routingKey, err = props.String(v)
		case "routingkeyexpression":
			var s string
			if s, err = props.String(v); err == nil {
				o.routingKeyExpr, err = parseRoutingKeyExpression(s)
			}
		case "mandatory":
			o.mandatory, err = props.Bool(v)
		case "deliverymode":
			o.transient, err = nonPersistent(v)
		case "autobinddlq":
			o.autoBindDlq, err = props.Bool(v)
		case "compress":
			o.compress, err = props.Bool(v)
		case "batchingenabled":
			o.batching, err = props.Bool(v)
		case "batchsize":
			o.batchSize, err = props.Int(v, 1)
		case "batchbufferlimit":
			o.batchBufferLimit, err = props.Int(v, 1)
		case "batchtimeout":
			// SCSt's Integer of milliseconds; a Send waits for its batch,
			// so a batch is always released in time (SCSt's 0 would wait
			// for batch-size).
			o.batchTimeout, err = props.Duration(v, true)
			if err == nil && o.batchTimeout <= 0 {
				err = errors.New("must be positive: a Send waits for its batch's confirm, and a batch short of batch-size goes after batch-timeout")
			}
		default:
			if ok, serr := scstKey("producer", k, v); ok {
				return serr
			}
			err = removedKey(k, producerKeys)
		}
		return err
	})
	if o.routingKey != "" && o.routingKeyExpr != nil {
		d.Addf(path, "set routing-key or routing-key-expression, not both")
	}
	o.queueOptions.check(&d, path)
	return o, d.Err()
}

// scstKey handles key k (normalised) with value v of SCSt's RabbitMQ
// consumer or producer properties (kind) that have no setting of their own
// here: a value that asks for what the binder does anyway (SCSt's default)
// is accepted, any other refused with the reason, so that an SCSt
// configuration either runs as it did or fails saying what it lacks.
// handled is false for a key SCSt does not have there.
func scstKey(kind, k string, v any) (handled bool, err error) {
	// enum reads v as one of SCSt's enum values, compared as Spring binds
	// them (props.EnumName: case, '-' and '_' ignored): those of accept are accepted, those
	// of refuse refused with the reason.
	enum := func(accept []string, refuse map[string]string) error {
		s, err := props.String(v)
		if err != nil {
			return err
		}
		got := props.EnumName(s)
		for _, name := range accept {
			if got == props.EnumName(name) {
				return nil
			}
		}
		names := append([]string(nil), accept...)
		for _, name := range slices.Sorted(maps.Keys(refuse)) {
			if got == props.EnumName(name) {
				return fmt.Errorf("%s is not supported: %s", name, refuse[name])
			}
			names = append(names, name)
		}
		return fmt.Errorf("want %s, got %q", strings.Join(names, ", "), s)
	}
	// only accepts the boolean want, refusing the other with why.
	only := func(want bool, why string) error {
		b, err := props.Bool(v)
		if err != nil {
			return err
		}
		if b != want {
			return fmt.Errorf("%v is not supported: %s", b, why)
		}
		return nil
	}
	// atDefault accepts v when it is SCSt's default def (read by read:
	// a number, a duration in milliseconds), refusing any other value with
	// why.
	atDefault := func(def any, read func(any) (any, error), why string) error {
		got, err := read(v)
		if err != nil {
			return err
		}
		if got != def {
			return fmt.Errorf("%v is not supported (only SCSt's default, %v): %s", got, def, why)
		}
		return nil
	}
	count := func(v any) (any, error) { return props.Int(v, 0) }
	// millis reads a duration, a bare number being milliseconds as in
	// SCSt's Long and Integer properties.
	millis := func(v any) (any, error) { return props.Duration(v, true) }
	const (
		noManualAck = "the binder acknowledges a message once its handler returned nil (AUTO: at least once)"
		noStreams   = "RabbitMQ streams and super streams are not supported"
		reconnect   = "the binder declares its queue itself on every (re)subscription and, while that fails, tries again with the binder's reconnect-initial-interval doubling up to reconnect-max-interval: set those instead"
	)
	switch kind + "." + k {
	// binder (RabbitBinderConfigurationProperties)
	case "binder.adminaddresses", "binder.nodes":
		var l []string
		if l, err = props.List(v); err == nil && len(l) > 0 {
			err = errors.New("queue affinity (LocalizedQueueConnectionFactory) is not supported: the binder connects to addresses in turn; leave it out (a cluster routes to the queue's node)")
		}
	// listener container (RabbitConsumerProperties)
	case "consumer.missingqueuesfatal":
		err = only(false, "a missing queue is never fatal: "+reconnect)
	case "consumer.queuedeclarationretries":
		err = atDefault(3, count, reconnect)
	case "consumer.faileddeclarationretryinterval":
		err = atDefault(5*time.Second, millis, reconnect)
	case "consumer.recoveryinterval":
		err = atDefault(5*time.Second, millis, "a consumer whose channel or connection was lost subscribes again after the binder's reconnect-initial-interval, doubling up to reconnect-max-interval: set those instead")
	case "consumer.framemaxheadroom":
		err = atDefault(20000, count, "a dead letter's headers are fitted to the broker's frame_max less Spring AMQP's 20,000 bytes, a fixed headroom here (x-streambind-truncated says what was cut)")
	case "consumer.enablebatching":
		// SCSt wants it true with the binding's batch-mode; here batch-mode
		// alone batches (up to batch-size), and without it there are no
		// batches either way.
		_, err = props.Bool(v)
	case "consumer.superstream", "producer.superstream":
		err = only(false, noStreams)
	case "consumer.streamstreammessageconverterbeanname", "producer.streammessageconverterbeanname":
		err = errors.New("not supported: " + noStreams + ", and it names a Spring bean (there are none here)")
	case "consumer.delayedexchange", "producer.delayedexchange":
		err = only(false, "delayed-message exchanges need RabbitMQ's delayed-message-exchange plugin and are not supported; for a delay before a retry see consumer.retry-delays (wait queues with a TTL)")
	case "producer.delayexpression":
		err = errors.New("not supported: delayed-message exchanges (x-delay) need RabbitMQ's delayed-message-exchange plugin, and delayed-exchange: true is refused")
	// producer (RabbitProducerProperties)
	case "producer.confirmackchannel":
		err = errors.New("not supported: Send returns once the broker confirmed the message (publisher confirms), so there is no channel of confirmations")
	case "producer.useconfirmheader":
		err = only(false, "Send returns once the broker confirmed the message (publisher confirms); there is no confirmation header")
	case "consumer.acknowledgemode":
		err = enum([]string{"AUTO"}, map[string]string{
			"MANUAL": "there is no manual acknowledgment: " + noManualAck,
			"NONE":   "acknowledging on delivery (at most once) is not supported: " + noManualAck,
		})
	case "consumer.transacted", "producer.transacted":
		err = only(false, "channel transactions are not supported: sends are confirmed by the broker (publisher confirms) and deliveries acknowledged after handling")
	case "consumer.exclusive":
		err = only(false, "exclusive consumers are not supported; for one active consumer of a queue set single-active-consumer: true")
	case "consumer.containertype":
		// How Spring AMQP's container dispatches: nothing on the wire.
		err = enum([]string{"SIMPLE", "DIRECT"}, map[string]string{
			"STREAM": "RabbitMQ streams are not supported",
		})
	case "consumer.headerpatterns", "producer.headerpatterns":
		var l []string
		if l, err = props.List(v); err == nil && (len(l) != 1 || l[0] != "*") {
			err = errors.New("only * is supported: every header of the message is mapped")
		}
	case "producer.producertype":
		err = enum([]string{"AMQP"}, map[string]string{
			"STREAM_SYNC":  "RabbitMQ streams are not supported",
			"STREAM_ASYNC": "RabbitMQ streams are not supported",
		})
	default:
		return false, nil
	}
	return true, err
}

// nonPersistent reads v as SCSt's MessageDeliveryMode (spelt as Spring
// binds enums): true for NON_PERSISTENT (AMQP delivery mode 1), false for
// PERSISTENT (2).
func nonPersistent(v any) (bool, error) {
	s, err := props.String(v)
	if err != nil {
		return false, err
	}
	switch props.EnumName(s) {
	case props.EnumName("PERSISTENT"):
		return false, nil
	case props.EnumName("NON_PERSISTENT"):
		return true, nil
	}
	return false, fmt.Errorf("want PERSISTENT or NON_PERSISTENT, got %q", s)
}

// removedKey is the error for an unknown key, naming what replaced the
// keys earlier versions accepted.
func removedKey(k, hint string) error {
	switch k {
	case "deadletterargs":
		return props.RemovedKey("dead-letter-args was removed: a binding with dlq (auto-bind-dlq) now declares its queue with x-dead-letter-exchange and x-dead-letter-routing-key as SCSt does; for required-groups queues set the producer's auto-bind-dlq: true")
	case "partitionedrequiredgroups":
		return props.RemovedKey("partitioned-required-groups was removed: a partitioned producer now always provisions one queue per partition for each required group, as SCSt does")
	}
	return props.UnknownKey(hint)
}

func asExchangeType(v any) (string, error) {
	s, err := props.String(v)
	if err != nil {
		return "", err
	}
	switch s {
	case "topic", "direct", "fanout", "headers":
		return s, nil
	}
	return "", fmt.Errorf("want topic, direct, fanout or headers, got %q", s)
}

// Endpoint is a broker a binder connects to, with what it connects with,
// as the binder resolves its settings (addresses entries, uri, username,
// password, virtual-host, tls). Never log Password.
type Endpoint struct {
	Address     string // host:port
	TLS         bool
	Username    string
	Password    string
	VirtualHost string
}

// Endpoints returns the brokers a binder with settings bs connects to, in
// the order it tries them, so that tools (the demo's --purge, say) connect
// exactly as the binder does. Its errors are the binder's configuration
// errors, which never show a password.
func Endpoints(bs stream.BinderSettings) ([]Endpoint, error) {
	s, err := parseSettings(bs)
	if err != nil {
		return nil, err
	}
	out := make([]Endpoint, 0, len(s.endpoints))
	for _, ep := range s.endpoints {
		out = append(out, Endpoint{Address: ep.hostPort, TLS: ep.tls, Username: ep.username, Password: ep.password, VirtualHost: ep.vhost})
	}
	return out, nil
}

// intAtMost is props.Int with an upper bound hi as well; why says where
// the bound comes from.
func intAtMost(v any, lo, hi int, why string) (int, error) {
	n, err := props.Int(v, lo)
	if err == nil && n > hi {
		return 0, fmt.Errorf("must be at most %d (%s), got %d", hi, why, n)
	}
	return n, err
}
