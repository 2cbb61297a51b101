package rabbit

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

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
	var errs stream.ConfigErrors
	typ := s.Type
	if typ == "" {
		typ = Type
	}
	envPath := "environment"
	if s.Name != "" {
		envPath = "stream.binders." + s.Name + ".environment"
	}
	var uriSet, addrSet bool
	for _, src := range []struct {
		path string
		m    map[string]any
	}{{"stream." + typ + ".binder", s.Binder}, {envPath, s.Environment}} {
		for _, k := range sortedKeys(src.m) {
			path := src.path + "." + k
			v := src.m[k]
			bad := func(err error) {
				errs = append(errs, &stream.ConfigError{Path: path, Msg: err.Error()})
			}
			var err error
			switch normKey(k) {
			case "uri", "url":
				var str string
				if str, err = asString(v); err == nil {
					err = out.applyURI(str)
					uriSet = true
				}
			case "addresses", "address", "host":
				var list []string
				if list, err = asList(v); err == nil {
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
				out.username, err = asString(v)
			case "password":
				out.password, err = asString(v)
			case "virtualhost", "vhost":
				out.vhost, err = asString(v)
			case "connectionname":
				out.connectionName, err = asString(v)
			case "heartbeat":
				out.heartbeat, err = asDuration(v, false)
			case "connectiontimeout":
				out.connTimeout, err = asDuration(v, true)
			case "reconnectinitialinterval":
				out.reconnectInit, err = asDuration(v, true)
			case "reconnectmaxinterval":
				out.reconnectMax, err = asDuration(v, true)
			case "publisherchannels":
				out.pubChannels, err = asInt(v, 1)
			case "confirmwindow":
				out.confirmWindow, err = asInt(v, 1)
			case "tls", "ssl":
				err = out.applyTLS(path, v, &errs)
			default:
				err = errors.New("unknown key (the rabbit binder accepts uri, addresses, username, password, virtual-host, connection-name, heartbeat, connection-timeout, reconnect-initial-interval, reconnect-max-interval, publisher-channels, confirm-window, tls)")
			}
			if err != nil {
				bad(err)
			}
		}
	}
	if uriSet && addrSet {
		errs = append(errs, &stream.ConfigError{Path: envPath, Msg: "set uri or addresses, not both"})
	}
	if out.reconnectMax < out.reconnectInit {
		errs = append(errs, &stream.ConfigError{Path: envPath + ".reconnect-max-interval", Msg: "must not be below reconnect-initial-interval"})
	}
	if out.tls.enabled {
		out.scheme = "amqps"
	}
	if err := errs.Err(); err != nil {
		return settings{}, fmt.Errorf("rabbit binder %q: %w", s.Name, err)
	}
	return out, nil
}

func (s *settings) applyURI(raw string) error {
	u, err := amqp.ParseURI(raw)
	if err != nil {
		return fmt.Errorf("bad amqp uri %s: %v", Redact(raw), redactErr(err, raw))
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

func (s *settings) applyTLS(path string, v any, errs *stream.ConfigErrors) error {
	m, ok := v.(map[string]any)
	if !ok {
		b, err := asBool(v)
		if err != nil {
			return errors.New("want a map (enabled, ca-file, cert-file, key-file, server-name, insecure-skip-verify) or a bool")
		}
		s.tls.enabled = b
		return nil
	}
	s.tls.enabled = true
	for _, k := range sortedKeys(m) {
		var err error
		switch normKey(k) {
		case "enabled":
			s.tls.enabled, err = asBool(m[k])
		case "cafile", "cacertfile", "ca":
			s.tls.caFile, err = asString(m[k])
		case "certfile", "cert":
			s.tls.certFile, err = asString(m[k])
		case "keyfile", "key":
			s.tls.keyFile, err = asString(m[k])
		case "servername":
			s.tls.serverName, err = asString(m[k])
		case "insecureskipverify":
			s.tls.insecureSkipVerify, err = asBool(m[k])
		default:
			err = errors.New("unknown key (tls accepts enabled, ca-file, cert-file, key-file, server-name, insecure-skip-verify)")
		}
		if err != nil {
			*errs = append(*errs, &stream.ConfigError{Path: path + "." + k, Msg: err.Error()})
		}
	}
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
	o := consumerOptions{prefetch: DefaultPrefetch, exchangeType: DefaultExchangeType, bindingRoutingKey: DefaultBindingRoutingKey, declareExchange: true, bindQueue: true, batchSize: DefaultBatchSize}
	var errs stream.ConfigErrors
	for _, k := range sortedKeys(ext) {
		v := ext[k]
		var err error
		nk := normKey(k)
		if ok, e := o.queueOptions.apply(nk, v); ok {
			err = e
		} else {
			switch nk {
			case "prefetch":
				o.prefetch, err = asInt(v, 1)
			case "requeuerejected":
				o.requeueRejected, err = asBool(v)
			case "exchangetype":
				o.exchangeType, err = asExchangeType(v)
			case "bindingroutingkey":
				o.bindingRoutingKey, err = asString(v)
			case "queuenamegrouponly":
				o.queueNameGroupOnly, err = asBool(v)
			case "declareexchange":
				o.declareExchange, err = asBool(v)
			case "bindqueue":
				o.bindQueue, err = asBool(v)
			case "batchsize":
				o.batchSize, err = asInt(v, 1)
			default:
				err = errors.New("unknown key (rabbit consumer properties: prefetch, requeue-rejected, exchange-type, binding-routing-key, quorum, ttl, max-length, single-active-consumer, dead-letter-args, queue-name-group-only, declare-exchange, bind-queue, batch-size)")
			}
		}
		if err != nil {
			errs = append(errs, &stream.ConfigError{Path: "stream." + Type + ".bindings." + binding + ".consumer." + k, Msg: err.Error()})
		}
	}
	return o, errs.Err()
}

func parseProducerOptions(binding string, ext map[string]any) (producerOptions, error) {
	o := producerOptions{exchangeType: DefaultExchangeType, mandatory: true, declareExchange: true, bindingRoutingKey: DefaultBindingRoutingKey}
	var errs stream.ConfigErrors
	for _, k := range sortedKeys(ext) {
		v := ext[k]
		var err error
		nk := normKey(k)
		if ok, e := o.queueOptions.apply(nk, v); ok {
			err = e
		} else {
			switch nk {
			case "exchangetype":
				o.exchangeType, err = asExchangeType(v)
			case "routingkey":
				o.routingKey, err = asString(v)
			case "mandatory":
				o.mandatory, err = asBool(v)
			case "declareexchange":
				o.declareExchange, err = asBool(v)
			case "bindingroutingkey":
				o.bindingRoutingKey, err = asString(v)
			case "partitionedrequiredgroups":
				o.partitionedRequiredGroups, err = asBool(v)
			default:
				err = errors.New("unknown key (rabbit producer properties: exchange-type, routing-key, mandatory, declare-exchange, binding-routing-key, partitioned-required-groups, quorum, ttl, max-length, single-active-consumer, dead-letter-args)")
			}
		}
		if err != nil {
			errs = append(errs, &stream.ConfigError{Path: "stream." + Type + ".bindings." + binding + ".producer." + k, Msg: err.Error()})
		}
	}
	return o, errs.Err()
}

// apply sets the queue option nk; ok is false when nk is not one.
func (q *queueOptions) apply(nk string, v any) (ok bool, err error) {
	switch nk {
	case "quorum":
		if m, isMap := v.(map[string]any); isMap { // SCSt: quorum.enabled
			for k, x := range m {
				if normKey(k) != "enabled" {
					return true, fmt.Errorf("unknown key quorum.%s (only enabled)", k)
				}
				q.quorum, err = asBool(x)
			}
			return true, err
		}
		q.quorum, err = asBool(v)
	case "ttl":
		q.ttl, err = asDuration(v, true)
	case "maxlength":
		q.maxLength, err = asInt(v, 1)
	case "singleactiveconsumer":
		q.singleActiveConsumer, err = asBool(v)
	case "deadletterargs":
		q.deadLetterArgs, err = asBool(v)
	default:
		return false, nil
	}
	return true, err
}

func asExchangeType(v any) (string, error) {
	s, err := asString(v)
	if err != nil {
		return "", err
	}
	switch s {
	case "topic", "direct", "fanout", "headers":
		return s, nil
	}
	return "", fmt.Errorf("want topic, direct, fanout or headers, got %q", s)
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

func asString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case fmt.Stringer:
		return x.String(), nil
	case int, int64, float64, bool:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("want a string, got %T", v)
}

func asList(v any) ([]string, error) {
	var raw []string
	switch x := v.(type) {
	case string:
		raw = strings.Split(x, ",")
	case []string:
		raw = x
	case []any:
		for _, e := range x {
			s, err := asString(e)
			if err != nil {
				return nil, err
			}
			raw = append(raw, s)
		}
	default:
		return nil, fmt.Errorf("want a comma-separated string or a list, got %T", v)
	}
	var out []string
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func asBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return false, fmt.Errorf("want true or false, got %q", x)
		}
		return b, nil
	}
	return false, fmt.Errorf("want true or false, got %T %v", v, v)
}

// asInt accepts integers, integral floats, json.Number and digit strings,
// and requires at least lo.
func asInt(v any, lo int) (int, error) {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint64:
		if x > math.MaxInt32 {
			x = math.MaxInt32 + 1
		}
		n = int64(x)
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) || math.IsNaN(x) {
			return 0, fmt.Errorf("want a whole number, got %v", x)
		}
		n = int64(math.Max(math.Min(x, math.MaxInt32+1), math.MinInt32))
	case json.Number:
		return asInt(string(x), lo)
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("want a whole number, got %q", x)
		}
		n = i
	default:
		return 0, fmt.Errorf("want a whole number, got %T %v", v, v)
	}
	if n < int64(lo) {
		return 0, fmt.Errorf("must be at least %d, got %d", lo, n)
	}
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("must be at most %d, got %d", math.MaxInt32, n)
	}
	return int(n), nil
}

// asDuration accepts a Go duration string or a bare integer of
// milliseconds (SCSt's unit).
func asDuration(v any, positive bool) (time.Duration, error) {
	var d time.Duration
	switch x := v.(type) {
	case time.Duration:
		d = x
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			d = time.Duration(n) * time.Millisecond
		} else if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("want a duration (250ms, 10s) or milliseconds, got %q", x)
		}
	default:
		n, err := asInt(v, 0)
		if err != nil {
			return 0, fmt.Errorf("want a duration (250ms, 10s) or milliseconds, got %T %v", v, v)
		}
		d = time.Duration(n) * time.Millisecond
	}
	if d < 0 || (positive && d == 0) {
		return 0, fmt.Errorf("must be positive, got %s", d)
	}
	return d, nil
}
