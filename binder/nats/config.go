package nats

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

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
	// DefaultDLQClaimBucket is the default of dlq-claim-bucket.
	DefaultDLQClaimBucket = "streambind-dlq-claims"
)

// settings are the decoded binder settings.
type settings struct {
	servers         []string
	name            string
	username        string
	password        string
	token           string
	credentials     string // credentials (.creds) file as written (conf.FileName gives the file)
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
	claimBucket     string // dlq-claim-bucket: the key-value bucket of dead-letter claims
	stream          streamSettings
	dlqStream       dlqStreamSettings
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

// dlqStreamSettings are the limits dead-letter streams the binder creates
// are created with (binder setting dlq-stream), in place of stream's: a
// dead letter must wait for an operator (streambind dlq), however briefly
// the destinations' streams keep their messages. The rest of a
// dead-letter stream's settings are stream's, but its retention, which is
// always limits (see Binder.deadLetterSettings).
type dlqStreamSettings struct {
	maxAge   time.Duration // 0: unlimited
	maxMsgs  int64         // -1: unlimited
	maxBytes int64         // -1: unlimited
}

const dlqStreamKeys = "max-age, max-msgs, max-bytes (a dead-letter stream's other settings are stream's, its retention always limits)"

// apply sets the dlq-stream property k (normalised).
func (s *dlqStreamSettings) apply(k string, v any) (err error) {
	switch k {
	case "maxage":
		s.maxAge, err = props.Duration(v, true)
	case "maxmsgs", "maxmessages":
		s.maxMsgs, err = limit(v)
	case "maxbytes":
		s.maxBytes, err = sizeLimit(v)
	default:
		return props.UnknownKey("known: " + dlqStreamKeys)
	}
	return err
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
		claimBucket:     DefaultDLQClaimBucket,
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
		dlqStream: dlqStreamSettings{maxAge: DefaultMaxAge, maxMsgs: -1, maxBytes: -1},
	}
}

// limit reads a count where -1 means unlimited.
func limit(v any) (int64, error) {
	n, err := props.Int64(v, -1)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, errors.New("must be -1 (unlimited) or at least 1, got 0")
	}
	return n, nil
}

// sizeLimit is limit of a size in bytes, which may also be given as a
// Spring DataSize text (10GB: props.DataSize).
func sizeLimit(v any) (int64, error) {
	if s, ok := v.(string); ok && strings.TrimSpace(s) != "-1" {
		n, err := props.DataSize(s)
		if err == nil && n == 0 {
			err = errors.New("must be -1 (unlimited) or at least 1, got 0")
		}
		return n, err
	}
	return limit(v)
}

const binderKeys = "servers, name, username, password, token, credentials-file, tls, connect-timeout, reconnect-initial-interval, reconnect-max-interval, reconnect-stable-interval, ping-interval, max-pings-outstanding, api-timeout, domain, dlq-claim-bucket, stream, dlq-stream"

// binderSections are the nested sections of the binder settings, so that
// their keys may come flat from environment variables
// (props.Decoder.Nest): ..._BINDER_STREAM_REPLICAS is stream.replicas.
var binderSections = []props.Section{{Key: "tls", Scalar: "enabled"}, {Key: "stream"}, {Key: "dlq-stream"}}

// parseSettings decodes s.Binder (stream.nats.binder) and then
// s.Environment (stream.binders.<name>.environment), which wins. Every
// problem is reported, secrets never.
func parseSettings(s stream.BinderSettings) (settings, error) {
	out := defaultSettings()
	var d props.Decoder
	var ts conf.TLS
	// Where each auth setting was last written (its key path) and when
	// (the order Each met it in), for the problems reported below.
	var auth struct{ user, password, token, creds written }
	seq := 0
	at := func(w *written, p string) { seq++; *w = written{p, seq} }
	for _, src := range props.BinderSources(s, Type) {
		d.Each(src.Path, d.Nest(src.Path, src.Map, binderSections...), func(k, p string, v any) (err error) {
			switch k {
			case "servers", "server", "url", "urls":
				var l []string
				if l, err = props.List(v); err != nil {
					return err
				}
				if len(l) == 0 {
					return conf.ErrEmpty
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
				at(&auth.user, p)
			case "password":
				out.password, err = conf.Secret(v)
				out.secrets = append(out.secrets, out.password)
				at(&auth.password, p)
			case "token":
				out.token, err = conf.Secret(v)
				out.secrets = append(out.secrets, out.token)
				at(&auth.token, p)
			case "credentialsfile", "credentials", "creds":
				out.credentials, err = conf.String(v)
				at(&auth.creds, p)
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
			case "dlqclaimbucket":
				out.claimBucket, err = claimBucketName(v)
			case "tls":
				err = ts.Decode(&d, p, v, true)
			case "stream":
				var m map[string]any
				if m, err = props.Map(v); err != nil {
					return err
				}
				d.Each(p, m, func(k, _ string, v any) error { return out.stream.apply(k, v) })
			case "dlqstream":
				var m map[string]any
				if m, err = props.Map(v); err != nil {
					return err
				}
				d.Each(p, m, func(k, _ string, v any) error { return out.dlqStream.apply(k, v) })
			default:
				err = props.UnknownKey("known: " + binderKeys)
			}
			return err
		})
	}
	// JetStream refuses a stream whose duplicate window is longer than its
	// max-age (err_code 10052, at the first bind): one written is an error
	// here, naming the keys; the default window (2m) follows a shorter
	// max-age (Binder.streamSettings), as nats-server gives a stream made
	// with none.
	if st := out.stream; st.maxAge > 0 && st.duplicateWindow > st.maxAge {
		if at := d.GivenAt("duplicatewindow", "duplicates"); at != "" {
			d.Addf(at, "must not be above stream.max-age (%s): JetStream refuses a stream whose duplicate window is longer than its max age", st.maxAge)
		}
	}
	envPath := props.EnvironmentPath(s)
	if out.reconnectMax < out.reconnectInit {
		// At the key given (its file:line), else where to set it.
		if at := d.GivenAt("reconnectinitialinterval"); at != "" && d.GivenAt("reconnectmaxinterval") == "" {
			d.Addf(at, "must not be above reconnect-max-interval (%s)", out.reconnectMax)
		} else {
			d.Addf(props.SettingPath(s, Type, "reconnect-max-interval", d.GivenAt("reconnectmaxinterval")), "must not be below reconnect-initial-interval (%s)", out.reconnectInit)
		}
	}
	// Two auth methods: reported at the key of the one written last (the
	// second), naming where the other one is.
	var methods []written
	if out.username != "" || out.password != "" {
		w := auth.user
		if out.username == "" || (out.password != "" && auth.password.seq > w.seq) {
			w = auth.password
		}
		methods = append(methods, w)
	}
	if out.token != "" {
		methods = append(methods, auth.token)
	}
	if out.credentials != "" {
		methods = append(methods, auth.creds)
	}
	if len(methods) > 1 {
		slices.SortFunc(methods, func(a, b written) int { return a.seq - b.seq })
		last := methods[len(methods)-1]
		others := make([]string, len(methods)-1)
		for i, w := range methods[:len(methods)-1] {
			others[i] = w.path
		}
		d.Addf(last.path, "set only one of username/password, token and credentials-file (also set: %s)", strings.Join(others, ", "))
	}
	if out.password != "" && out.username == "" {
		d.Addf(auth.password.path, "username is required with password")
	}
	if out.credentials != "" && !s.SkipFiles {
		// Read again at connect (nats.UserCredentials); here it must be
		// there and hold what that needs.
		if err := checkCredentials(out.credentials); err != nil {
			d.Add(auth.creds.path, err)
		}
	}
	ts.SkipFiles = s.SkipFiles
	out.tls = ts.Build(&d, envPath)
	out.tlsFirst = out.tls != nil && ts.HandshakeFirst
	if err := d.Err(); err != nil {
		return settings{}, fmt.Errorf("nats binder %q: %w", s.Name, secrets.Redact(err, out.secrets))
	}
	return out, nil
}

// claimBucketName reads dlq-claim-bucket: a key-value bucket name as
// JetStream allows it (letters, digits, - and _), which the bucket of a
// lease other than the default extends with -<ms>ms.
func claimBucketName(v any) (string, error) {
	name, err := conf.String(v)
	if err != nil {
		return "", err
	}
	if name == "" {
		return "", errors.New("must not be empty (default " + DefaultDLQClaimBucket + ")")
	}
	for _, ch := range name {
		if ch != '-' && ch != '_' && (ch < 'a' || ch > 'z') && (ch < 'A' || ch > 'Z') && (ch < '0' || ch > '9') {
			return "", fmt.Errorf("%q is not a key-value bucket name: letters, digits, - and _ only", name)
		}
	}
	return name, nil
}

// written is where (the key path) and when (the order the settings were
// met in) a setting was written.
type written struct {
	path string
	seq  int
}

// checkCredentials checks the credentials (.creds) file name as nats.go's
// UserCredentials reads it (nkeys.ParseDecoratedJWT and
// ParseDecoratedNKey): a user JWT, signed and not expired, and the nkey
// seed of that user. Its error is a [conf.FileProblem]; it never shows
// the file's contents (the seed is a secret).
func checkCredentials(name string) error {
	b, err := conf.ReadFile(name)
	if err != nil {
		return err
	}
	defer clear(b)
	const want = " (want a NATS credentials file: a user JWT and its nkey seed, as nsc writes it)"
	if len(bytes.TrimSpace(b)) == 0 {
		return conf.FileProblem(name, "is empty"+want)
	}
	var problems []string
	// ParseDecoratedJWT returns the first -----...----- block, whatever
	// it holds (with the seed's block alone, the seed), or without one the
	// whole file, which may still be a bare JWT. What is not shaped like a
	// JWT (header.claims.signature) is no JWT.
	tok, _ := nkeys.ParseDecoratedJWT(b)
	claims, err := jwt.DecodeUserClaims(tok)
	// The decoder's message is not shown: it may quote the file.
	switch {
	case err != nil && strings.Count(tok, ".") != 2:
		problems = append(problems, "holds no user JWT")
	case err != nil:
		if _, aerr := jwt.Decode(tok); aerr == nil {
			problems = append(problems, "holds a JWT that is not a user's")
		} else {
			problems = append(problems, "holds a user JWT that is not valid (it does not decode, or its signature does not verify)")
		}
	case claims.Expires != 0 && time.Unix(claims.Expires, 0).Before(time.Now()):
		problems = append(problems, "holds a user JWT that expired "+time.Unix(claims.Expires, 0).UTC().Format(time.RFC3339))
	}
	kp, err := nkeys.ParseDecoratedUserNKey(b)
	switch {
	case errors.Is(err, nkeys.ErrNoSeedFound):
		problems = append(problems, "holds no nkey seed")
	case errors.Is(err, nkeys.ErrInvalidUserSeed):
		problems = append(problems, "holds an nkey seed that is not a user's")
	case err != nil:
		problems = append(problems, "holds an nkey seed that is not valid")
	default:
		pub, perr := kp.PublicKey()
		kp.Wipe()
		// A bearer-token JWT is accepted without the seed's signature.
		if perr == nil && claims != nil && !claims.BearerToken && pub != claims.Subject {
			problems = append(problems, "holds an nkey seed that is not the user JWT's (the JWT is for "+claims.Subject+", the seed for "+pub+")")
		}
	}
	if len(problems) > 0 {
		return conf.FileProblem(name, "%s%s", strings.Join(problems, ", "), want)
	}
	return nil
}

// serverURL normalises one server address (host, host:port or a
// nats/tls/ws(s) URL) and returns the secrets its user info holds. An
// address that does not parse is not shown: it may hold a password.
func serverURL(raw string) (string, []string, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "nats://" + s
	}
	// url.Parse reads nats://u:12345/secret@h as host "u", port 12345
	// and path "/secret@h", which messages would show.
	if err := conf.AtAfterHost(s); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", nil, errors.New("not a server URL (not shown: it may hold a password): want nats://host:4222 (or tls, ws, wss), a user and password or a token before the host, with reserved characters percent-encoded")
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
		u.Host = net.JoinHostPort(u.Hostname(), defaultPort(u.Scheme))
	}
	// nats.go dials u.Host as it is: nats://h:4222:99 parses, and fails
	// at every connection ("too many colons").
	if err := conf.HostPort(u.Host); err != nil {
		return "", secrets, fmt.Errorf("its host or port: %w (the address is %s)", err, conf.NotShown)
	}
	return u.String(), secrets, nil
}

// defaultPort is the port of a server URL of scheme without one, as
// nats.go gives it (Conn.parseServerURL): a websocket's the web's, 80 for
// ws and 443 for wss (a NATS server's websocket listens behind a web
// proxy or on its own port), the client port 4222 for nats and tls. Before,
// ws://host and wss://host were given 4222, where the server has no
// websocket listener unless configured so.
func defaultPort(scheme string) string {
	switch scheme {
	case "ws":
		return "80"
	case "wss":
		return "443"
	default:
		return "4222"
	}
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
	case "maxage", "maxmsgs", "maxmessages", "maxbytes":
		// The limits dlq-stream has too, read alike.
		l := dlqStreamSettings{maxAge: s.maxAge, maxMsgs: s.maxMsgs, maxBytes: s.maxBytes}
		err = l.apply(k, v)
		s.maxAge, s.maxMsgs, s.maxBytes = l.maxAge, l.maxMsgs, l.maxBytes
	case "maxmsgsize", "maxmessagesize":
		var n int64
		if n, err = sizeLimit(v); err == nil {
			if n > math.MaxInt32 {
				err = fmt.Errorf("must be at most %d bytes (JetStream keeps it as a 32-bit number), got %d", math.MaxInt32, n)
			}
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
