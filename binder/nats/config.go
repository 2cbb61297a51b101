package nats

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/streambind/streambind/binder/internal/conf"
	"github.com/streambind/streambind/binder/internal/secrets"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// Type is the binder type name the NATS JetStream binder is registered
// under.
const Type = "nats"

// Defaults of the binder settings and binding properties (see the package
// doc for what each one means).
const (
	DefaultServers           = "nats://127.0.0.1:4222"
	DefaultConnectionName    = "streambind"
	DefaultConnectTimeout    = 5 * time.Second
	DefaultReconnectInitial  = 100 * time.Millisecond
	DefaultReconnectMax      = 5 * time.Second
	DefaultReconnectStable   = 10 * time.Second
	DefaultPingInterval      = 10 * time.Second
	DefaultMaxPingsOut       = 2
	DefaultAPITimeout        = 5 * time.Second
	DefaultReplicas          = 1
	DefaultMaxAge            = 7 * 24 * time.Hour
	DefaultDuplicateWindow   = 2 * time.Minute
	DefaultSendTimeout       = 5 * time.Second
	DefaultSendAttempts      = 10
	DefaultAckWait           = 30 * time.Second
	DefaultMaxDeliver        = -1
	DefaultMaxAckPending     = 1000
	DefaultPrefetch          = 128
	DefaultRedeliveryDelay   = 100 * time.Millisecond
	DefaultInactiveThreshold = time.Minute
	DefaultBatchSize         = 64
	DefaultDLQAttempts       = 3
)

// settings are the decoded binder settings.
type settings struct {
	servers         []string
	name            string
	username        string
	password        string
	token           string
	credentials     string // credentials (.creds) file
	tls             *tls.Config
	tlsFirst        bool
	connectTimeout  time.Duration
	reconnectInit   time.Duration
	reconnectMax    time.Duration
	reconnectStable time.Duration
	pingInterval    time.Duration
	maxPingsOut     int
	apiTimeout      time.Duration
	domain          string
	stream          streamSettings
	// secrets never appear in an error or log line.
	secrets []string
}

// streamSettings are what streams the binder creates are created with.
type streamSettings struct {
	retention       jetstream.RetentionPolicy
	storage         jetstream.StorageType
	replicas        int
	maxAge          time.Duration // 0: unlimited
	maxMsgs         int64         // -1: unlimited
	maxBytes        int64         // -1: unlimited
	maxMsgSize      int32         // -1: unlimited (the server's max_payload)
	duplicateWindow time.Duration
	discard         jetstream.DiscardPolicy
}

func defaultSettings() settings {
	return settings{
		servers:         []string{DefaultServers},
		name:            DefaultConnectionName,
		connectTimeout:  DefaultConnectTimeout,
		reconnectInit:   DefaultReconnectInitial,
		reconnectMax:    DefaultReconnectMax,
		reconnectStable: DefaultReconnectStable,
		pingInterval:    DefaultPingInterval,
		maxPingsOut:     DefaultMaxPingsOut,
		apiTimeout:      DefaultAPITimeout,
		stream: streamSettings{
			retention:       jetstream.LimitsPolicy,
			storage:         jetstream.FileStorage,
			replicas:        DefaultReplicas,
			maxAge:          DefaultMaxAge,
			maxMsgs:         -1,
			maxBytes:        -1,
			maxMsgSize:      -1,
			duplicateWindow: DefaultDuplicateWindow,
			discard:         jetstream.DiscardOld,
		},
	}
}

// limit reads a count where -1 means unlimited.
func limit(v any) (int64, error) {
	n, err := props.Int(v, -1)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, errors.New("must be -1 (unlimited) or at least 1, got 0")
	}
	return int64(n), nil
}

const binderKeys = "servers, name, username, password, token, credentials-file, tls, connect-timeout, reconnect-initial-interval, reconnect-max-interval, reconnect-stable-interval, ping-interval, max-pings-outstanding, api-timeout, domain, stream"

// parseSettings decodes s.Binder (stream.nats.binder) and then
// s.Environment (stream.binders.<name>.environment), which wins. Every
// problem is reported, secrets never.
func parseSettings(s stream.BinderSettings) (settings, error) {
	out := defaultSettings()
	var d props.Decoder
	var ts conf.TLS
	var credPath string
	for _, src := range props.BinderSources(s, Type) {
		d.Each(src.Path, src.Map, func(k, p string, v any) (err error) {
			switch k {
			case "servers", "server", "url", "urls":
				var l []string
				if l, err = props.List(v); err != nil {
					return err
				}
				if len(l) == 0 {
					return errors.New("want at least one server URL")
				}
				for i, raw := range l {
					u, secrets, err := serverURL(raw)
					out.secrets = append(out.secrets, secrets...)
					if err != nil {
						return fmt.Errorf("server %d: %w", i+1, err)
					}
					l[i] = u
				}
				out.servers = l
			case "name", "connectionname":
				out.name, err = conf.String(v)
			case "username", "user":
				out.username, err = conf.String(v)
			case "password":
				out.password, err = conf.Secret(v)
				out.secrets = append(out.secrets, out.password)
			case "token":
				out.token, err = conf.Secret(v)
				out.secrets = append(out.secrets, out.token)
			case "credentialsfile", "credentials", "creds":
				out.credentials, err = conf.String(v)
				credPath = p // where it was written, for the file's problem below
			case "connecttimeout", "connectiontimeout":
				out.connectTimeout, err = props.Duration(v, false)
			case "reconnectinitialinterval":
				out.reconnectInit, err = props.Duration(v, false)
			case "reconnectmaxinterval":
				out.reconnectMax, err = props.Duration(v, false)
			case "reconnectstableinterval":
				out.reconnectStable, err = props.Duration(v, false)
			case "pinginterval":
				out.pingInterval, err = props.Duration(v, false)
			case "maxpingsoutstanding":
				out.maxPingsOut, err = props.Int(v, 1)
			case "apitimeout":
				out.apiTimeout, err = props.Duration(v, false)
			case "domain":
				out.domain, err = conf.String(v)
			case "tls":
				err = ts.Decode(&d, p, v, true)
			case "stream":
				var m map[string]any
				if m, err = props.Map(v); err != nil {
					return err
				}
				d.Each(p, m, func(k, _ string, v any) error { return out.stream.apply(k, v) })
			default:
				err = props.UnknownKey("known: " + binderKeys)
			}
			return err
		})
	}
	envPath := props.EnvironmentPath(s)
	if out.reconnectMax < out.reconnectInit {
		d.Addf(envPath+".reconnect-max-interval", "must not be below reconnect-initial-interval (%s)", out.reconnectInit)
	}
	n := 0
	for _, set := range []bool{out.username != "" || out.password != "", out.token != "", out.credentials != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		d.Addf(envPath, "set one of username/password, token and credentials-file")
	}
	if out.password != "" && out.username == "" {
		d.Addf(envPath+".username", "required with password")
	}
	if out.credentials != "" {
		// Read at connect (nats.UserCredentials); here only its presence.
		if _, err := conf.ReadFile(out.credentials); err != nil {
			d.Addf(credPath, "%v", err)
		}
	}
	out.tls = ts.Build(&d, envPath)
	out.tlsFirst = out.tls != nil && ts.HandshakeFirst
	if err := d.Err(); err != nil {
		return settings{}, fmt.Errorf("nats binder %q: %w", s.Name, secrets.Redact(err, out.secrets))
	}
	return out, nil
}

// serverURL normalises one server address (host, host:port or a
// nats/tls/ws(s) URL) and returns the secrets its user info holds. An
// address that does not parse is not shown: it may hold a password.
func serverURL(raw string) (string, []string, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "nats://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", nil, errors.New("not a server URL (not shown: it may hold a password): want nats://[user:password@]host[:port], with reserved characters in the user and password percent-encoded")
	}
	var secrets []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p, u.User.String())
		} else if t := u.User.Username(); t != "" {
			secrets = append(secrets, t) // a token
		}
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return "", secrets, fmt.Errorf("scheme %q: want nats, tls, ws or wss", u.Scheme)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "4222")
	}
	return u.String(), secrets, nil
}

const streamKeys = "retention, storage, replicas, max-age, max-msgs, max-bytes, max-msg-size, duplicate-window, discard"

// apply sets the stream property k (normalised).
func (s *streamSettings) apply(k string, v any) (err error) {
	switch k {
	case "retention":
		var r string
		if r, err = conf.String(v); err != nil {
			return err
		}
		switch strings.ToLower(r) {
		case "limits":
			s.retention = jetstream.LimitsPolicy
		case "interest":
			s.retention = jetstream.InterestPolicy
		case "workqueue", "work-queue", "work_queue":
			s.retention = jetstream.WorkQueuePolicy
		default:
			return fmt.Errorf("want limits, interest or workqueue, got %q", r)
		}
	case "storage":
		var r string
		if r, err = conf.String(v); err != nil {
			return err
		}
		switch strings.ToLower(r) {
		case "file":
			s.storage = jetstream.FileStorage
		case "memory":
			s.storage = jetstream.MemoryStorage
		default:
			return fmt.Errorf("want file or memory, got %q", r)
		}
	case "replicas", "numreplicas":
		var n int
		if n, err = props.Int(v, 1); err != nil {
			return err
		}
		if n > 5 {
			return fmt.Errorf("must be at most 5 (JetStream's limit), got %d", n)
		}
		s.replicas = n
	case "maxage":
		s.maxAge, err = props.Duration(v, true)
	case "maxmsgs", "maxmessages":
		s.maxMsgs, err = limit(v)
	case "maxbytes":
		s.maxBytes, err = limit(v)
	case "maxmsgsize", "maxmessagesize":
		var n int64
		if n, err = limit(v); err == nil {
			s.maxMsgSize = int32(n)
		}
	case "duplicatewindow", "duplicates":
		s.duplicateWindow, err = props.Duration(v, false)
	case "discard":
		var r string
		if r, err = conf.String(v); err != nil {
			return err
		}
		switch strings.ToLower(r) {
		case "old":
			s.discard = jetstream.DiscardOld
		case "new":
			s.discard = jetstream.DiscardNew
		default:
			return fmt.Errorf("want old or new, got %q", r)
		}
	default:
		return props.UnknownKey("known: " + streamKeys)
	}
	return err
}

// producerSettings are a producer binding's NATS properties.
type producerSettings struct {
	sendTimeout  time.Duration
	sendAttempts int
}

const producerKeys = "send-timeout, send-attempts"

func parseProducer(binding string, ext map[string]any) (producerSettings, error) {
	out := producerSettings{sendTimeout: DefaultSendTimeout, sendAttempts: DefaultSendAttempts}
	var d props.Decoder
	d.Each(props.BindingPath(Type, binding, "producer"), ext, func(k, _ string, v any) (err error) {
		switch k {
		case "sendtimeout":
			out.sendTimeout, err = props.Duration(v, false)
		case "sendattempts":
			out.sendAttempts, err = props.Int(v, 1)
		default:
			err = props.UnknownKey("known: " + producerKeys)
		}
		return err
	})
	return out, d.Err()
}

// consumerSettings are a consumer binding's NATS properties.
type consumerSettings struct {
	ackWait           time.Duration
	maxDeliver        int
	maxAckPending     int
	prefetch          int
	redeliveryDelay   time.Duration
	dlqName           string
	startOffset       string // "", earliest, latest
	inactiveThreshold time.Duration
	batchSize         int
	partitionCount    int // 0: instance-count
	dlqAttempts       int
}

const consumerKeys = "ack-wait, max-deliver (or max-deliveries), max-ack-pending, prefetch, redelivery-delay, dlq-name, start-offset, inactive-threshold, batch-size, partition-count, dlq-attempts"

func parseConsumer(binding string, ext map[string]any) (consumerSettings, error) {
	out := consumerSettings{
		ackWait:           DefaultAckWait,
		maxDeliver:        DefaultMaxDeliver,
		maxAckPending:     DefaultMaxAckPending,
		prefetch:          DefaultPrefetch,
		redeliveryDelay:   DefaultRedeliveryDelay,
		inactiveThreshold: DefaultInactiveThreshold,
		batchSize:         DefaultBatchSize,
		dlqAttempts:       DefaultDLQAttempts,
	}
	var d props.Decoder
	maxDeliverSet := false
	d.Each(props.BindingPath(Type, binding, "consumer"), ext, func(k, _ string, v any) (err error) {
		switch k {
		case "ackwait":
			if out.ackWait, err = props.Duration(v, false); err == nil && out.ackWait < time.Second {
				err = fmt.Errorf("must be at least 1s, got %s", out.ackWait)
			}
		case "maxdeliver", "maxdeliveries": // JetStream's name, and the redis binder's
			if maxDeliverSet {
				return errors.New("set max-deliver or max-deliveries (the same setting), not both")
			}
			maxDeliverSet = true
			var n int64
			if n, err = limit(v); err == nil {
				out.maxDeliver = int(n)
			}
		case "maxackpending":
			var n int64
			if n, err = limit(v); err == nil {
				out.maxAckPending = int(n)
			}
		case "prefetch":
			out.prefetch, err = props.Int(v, 1)
		case "redeliverydelay":
			out.redeliveryDelay, err = props.Duration(v, true)
		case "dlqname":
			out.dlqName, err = conf.String(v)
			if err == nil {
				err = checkSubject(out.dlqName)
			}
		case "startoffset":
			var s string
			if s, err = conf.String(v); err != nil {
				return err
			}
			switch strings.ToLower(s) {
			case "earliest", "first", "oldest", "all":
				out.startOffset = "earliest"
			case "latest", "last", "newest", "new":
				out.startOffset = "latest"
			default:
				return fmt.Errorf("want earliest or latest, got %q", s)
			}
		case "inactivethreshold":
			out.inactiveThreshold, err = props.Duration(v, false)
		case "batchsize":
			out.batchSize, err = props.Int(v, 1)
		case "partitioncount":
			out.partitionCount, err = props.Int(v, 1)
		case "dlqattempts":
			out.dlqAttempts, err = props.Int(v, 1)
		default:
			err = props.UnknownKey("known: " + consumerKeys)
		}
		return err
	})
	return out, d.Err()
}
