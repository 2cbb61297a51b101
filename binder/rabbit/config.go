package rabbit

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/props"
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
	DefaultBatchSize         = 64
	// DefaultMaxMessageSize is RabbitMQ's default max_message_size (128 MiB).
	DefaultMaxMessageSize = 128 << 20
	// DefaultRedeliveryDelay is how long a Nak'ed message is held before it
	// is requeued (as on the Kafka binder).
	DefaultRedeliveryDelay   = 100 * time.Millisecond
	DefaultExchangeType      = "topic"
	DefaultBindingRoutingKey = "#"
	// DLXName is the direct exchange dead letters are published to.
	DLXName = "DLX"
)

// settings are the decoded binder settings.
type settings struct {
	addresses      []string // host:port, tried in order
	scheme         string   // amqp or amqps
	username       string
	password       string
	vhost          string
	connectionName string
	heartbeat      time.Duration
	connTimeout    time.Duration
	reconnectInit  time.Duration
	reconnectMax   time.Duration
	pubChannels    int
	confirmWindow  int
	maxMessageSize int
	tls            tlsSettings
}

type tlsSettings struct {
	enabled            bool
	caFile             string
	certFile           string
	keyFile            string
	serverName         string
	insecureSkipVerify bool
}

func defaultSettings() settings {
	return settings{
		addresses:      []string{DefaultAddress},
		scheme:         "amqp",
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
	}
}

// url returns the AMQP URL of address i, with the password. Never log it:
// use redacted.
func (s settings) url(i int) string {
	u := url.URL{Scheme: s.scheme, User: url.UserPassword(s.username, s.password), Host: s.addresses[i%len(s.addresses)]}
	u.Path = "/" + s.vhost
	u.RawPath = "/" + url.PathEscape(s.vhost)
	return u.String()
}

// redacted returns the URL of address i without the password.
func (s settings) redacted(i int) string {
	return Redact(s.url(i))
}

// Redact returns an AMQP URI with its password replaced by "xxxxx", for
// logs and errors. amqp.URI.String includes the password; never log it.
// A string that does not parse is returned as "<unparseable amqp uri>", as
// it may hold a password too.
func Redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "<unparseable amqp uri>"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}

// tlsConfig builds the client TLS configuration, or nil without TLS.
func (s settings) tlsConfig() (*tls.Config, error) {
	if !s.tls.enabled {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.tls.serverName, InsecureSkipVerify: s.tls.insecureSkipVerify} //nolint:gosec // opt-in, documented
	if s.tls.caFile != "" {
		pem, err := os.ReadFile(s.tls.caFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca-file %s: no PEM certificates", s.tls.caFile)
		}
		c.RootCAs = pool
	}
	if s.tls.certFile != "" || s.tls.keyFile != "" {
		if s.tls.certFile == "" || s.tls.keyFile == "" {
			return nil, errors.New("tls: cert-file and key-file go together")
		}
		cert, err := tls.LoadX509KeyPair(s.tls.certFile, s.tls.keyFile)
		if err != nil {
			return nil, fmt.Errorf("tls client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// parseSettings decodes s.Binder (stream.rabbit.binder) and then
// s.Environment (stream.binders.<name>.environment), which wins. Keys are
// matched ignoring case, '-' and '_'. Every problem is reported.
func parseSettings(s stream.BinderSettings) (settings, error) {
	out := defaultSettings()
	var d props.Decoder
	envPath := props.EnvironmentPath(s)
	var uriSet, addrSet bool
	for _, src := range props.BinderSources(s, Type) {
		d.Each(src.Path, src.Map, func(k, path string, v any) (err error) {
			switch k {
			case "uri", "url":
				var str string
				if str, err = props.String(v); err == nil {
					err = out.applyURI(str)
					uriSet = true
				}
			case "addresses", "address", "host":
				var list []string
				if list, err = props.List(v); err == nil {
					if len(list) == 0 {
						err = errors.New("want at least one host:port")
					}
					for i, a := range list {
						if _, _, e := net.SplitHostPort(a); e != nil {
							list[i] = net.JoinHostPort(a, "5672")
						}
					}
					out.addresses = list
					addrSet = true
				}
			case "username":
				out.username, err = props.String(v)
			case "password":
				out.password, err = props.String(v)
			case "virtualhost", "vhost":
				out.vhost, err = props.String(v)
			case "connectionname":
				out.connectionName, err = props.String(v)
			case "heartbeat":
				out.heartbeat, err = props.Duration(v, true)
			case "connectiontimeout":
				out.connTimeout, err = props.Duration(v, false)
			case "reconnectinitialinterval":
				out.reconnectInit, err = props.Duration(v, false)
			case "reconnectmaxinterval":
				out.reconnectMax, err = props.Duration(v, false)
			case "publisherchannels":
				out.pubChannels, err = props.Int(v, 1)
			case "confirmwindow":
				out.confirmWindow, err = props.Int(v, 1)
			case "maxmessagesize":
				out.maxMessageSize, err = props.Int(v, 1)
			case "tls", "ssl":
				err = out.applyTLS(&d, path, v)
			default:
				err = props.UnknownKey("the rabbit binder accepts uri, addresses, username, password, virtual-host, connection-name, heartbeat, connection-timeout, reconnect-initial-interval, reconnect-max-interval, publisher-channels, confirm-window, max-message-size, tls")
			}
			return err
		})
	}
	if uriSet && addrSet {
		d.Addf(envPath, "set uri or addresses, not both")
	}
	if out.reconnectMax < out.reconnectInit {
		d.Addf(envPath+".reconnect-max-interval", "must not be below reconnect-initial-interval")
	}
	if out.tls.enabled {
		out.scheme = "amqps"
	}
	if err := d.Err(); err != nil {
		return settings{}, fmt.Errorf("rabbit binder %q: %w", s.Name, err)
	}
	return out, nil
}

func (s *settings) applyURI(raw string) error {
	u, err := amqp.ParseURI(raw)
	if err != nil {
		// Neither the URI nor the parser's message is shown: both may hold
		// the password, which is exactly what a URI fails on when a
		// reserved character in it is not percent-encoded.
		return errors.New("bad amqp uri (not shown: it may hold a password): want amqp[s]://user:password@host[:port][/vhost], with reserved characters (@ : / ? #) in the user and password percent-encoded")
	}
	s.scheme = u.Scheme
	s.addresses = []string{net.JoinHostPort(u.Host, strconv.Itoa(u.Port))}
	s.username, s.password, s.vhost = u.Username, u.Password, u.Vhost
	if u.Scheme == "amqps" {
		s.tls.enabled = true
	}
	if u.CACertFile != "" {
		s.tls.caFile = u.CACertFile
	}
	if u.CertFile != "" {
		s.tls.certFile = u.CertFile
	}
	if u.KeyFile != "" {
		s.tls.keyFile = u.KeyFile
	}
	if u.ServerName != "" {
		s.tls.serverName = u.ServerName
	}
	return nil
}

var userinfoRE = regexp.MustCompile(`://[^/@\s"]*@`)

// redactErr strips the password of raw from an error message.
func redactErr(err error, raw string) string {
	msg := userinfoRE.ReplaceAllString(err.Error(), "://xxxxx@")
	if u, e := url.Parse(raw); e == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}

func (s *settings) applyTLS(d *props.Decoder, path string, v any) error {
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
	d.Each(path, m, func(k, _ string, v any) (err error) {
		switch k {
		case "enabled":
			s.tls.enabled, err = props.Bool(v)
		case "cafile", "cacertfile", "ca":
			s.tls.caFile, err = props.String(v)
		case "certfile", "cert":
			s.tls.certFile, err = props.String(v)
		case "keyfile", "key":
			s.tls.keyFile, err = props.String(v)
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

// queueOptions are the queue properties shared by consumer bindings and by
// the required-groups queues of producer bindings.
type queueOptions struct {
	quorum               bool
	ttl                  time.Duration // 0: none
	maxLength            int           // 0: none
	singleActiveConsumer bool
	deadLetterArgs       bool // x-dead-letter-exchange/-routing-key on the queue (SCSt auto-bind-dlq)
}

// consumerOptions are stream.rabbit.bindings.<b>.consumer.
type consumerOptions struct {
	queueOptions
	prefetch           int
	requeueRejected    bool
	exchangeType       string
	bindingRoutingKey  string
	queueNameGroupOnly bool
	declareExchange    bool
	bindQueue          bool
	batchSize          int
	redeliveryDelay    time.Duration
}

// producerOptions are stream.rabbit.bindings.<b>.producer.
type producerOptions struct {
	queueOptions
	exchangeType              string
	routingKey                string // "" = the destination
	mandatory                 bool
	declareExchange           bool
	bindingRoutingKey         string
	partitionedRequiredGroups bool
}

func parseConsumerOptions(binding string, ext map[string]any) (consumerOptions, error) {
	o := consumerOptions{prefetch: DefaultPrefetch, exchangeType: DefaultExchangeType, bindingRoutingKey: DefaultBindingRoutingKey, declareExchange: true, bindQueue: true, batchSize: DefaultBatchSize, redeliveryDelay: DefaultRedeliveryDelay}
	var d props.Decoder
	d.Each(props.BindingPath(Type, binding, "consumer"), ext, func(k, _ string, v any) (err error) {
		if ok, err := o.queueOptions.apply(k, v); ok {
			return err
		}
		switch k {
		case "prefetch":
			o.prefetch, err = props.Int(v, 1)
		case "requeuerejected":
			o.requeueRejected, err = props.Bool(v)
		case "exchangetype":
			o.exchangeType, err = asExchangeType(v)
		case "bindingroutingkey":
			o.bindingRoutingKey, err = props.String(v)
		case "queuenamegrouponly":
			o.queueNameGroupOnly, err = props.Bool(v)
		case "declareexchange":
			o.declareExchange, err = props.Bool(v)
		case "bindqueue":
			o.bindQueue, err = props.Bool(v)
		case "batchsize":
			o.batchSize, err = props.Int(v, 1)
		case "redeliverydelay":
			o.redeliveryDelay, err = props.Duration(v, true)
		default:
			err = props.UnknownKey("rabbit consumer properties: prefetch, requeue-rejected, redelivery-delay, exchange-type, binding-routing-key, quorum, ttl, max-length, single-active-consumer, dead-letter-args, queue-name-group-only, declare-exchange, bind-queue, batch-size")
		}
		return err
	})
	return o, d.Err()
}

func parseProducerOptions(binding string, ext map[string]any) (producerOptions, error) {
	o := producerOptions{exchangeType: DefaultExchangeType, mandatory: true, declareExchange: true, bindingRoutingKey: DefaultBindingRoutingKey}
	var d props.Decoder
	d.Each(props.BindingPath(Type, binding, "producer"), ext, func(k, _ string, v any) (err error) {
		if ok, err := o.queueOptions.apply(k, v); ok {
			return err
		}
		switch k {
		case "exchangetype":
			o.exchangeType, err = asExchangeType(v)
		case "routingkey":
			o.routingKey, err = props.String(v)
		case "mandatory":
			o.mandatory, err = props.Bool(v)
		case "declareexchange":
			o.declareExchange, err = props.Bool(v)
		case "bindingroutingkey":
			o.bindingRoutingKey, err = props.String(v)
		case "partitionedrequiredgroups":
			o.partitionedRequiredGroups, err = props.Bool(v)
		default:
			err = props.UnknownKey("rabbit producer properties: exchange-type, routing-key, mandatory, declare-exchange, binding-routing-key, partitioned-required-groups, quorum, ttl, max-length, single-active-consumer, dead-letter-args")
		}
		return err
	})
	return o, d.Err()
}

// apply sets the queue option nk; ok is false when nk is not one.
func (q *queueOptions) apply(nk string, v any) (ok bool, err error) {
	switch nk {
	case "quorum":
		if m, isMap := v.(map[string]any); isMap { // SCSt: quorum.enabled
			for _, k := range props.SortedKeys(m) {
				if props.Norm(k) != "enabled" {
					return true, fmt.Errorf("unknown key quorum.%s (only enabled)", k)
				}
				q.quorum, err = props.Bool(m[k])
			}
			return true, err
		}
		q.quorum, err = props.Bool(v)
	case "ttl":
		q.ttl, err = props.Duration(v, false)
	case "maxlength":
		q.maxLength, err = props.Int(v, 1)
	case "singleactiveconsumer":
		q.singleActiveConsumer, err = props.Bool(v)
	case "deadletterargs":
		q.deadLetterArgs, err = props.Bool(v)
	default:
		return false, nil
	}
	return true, err
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
