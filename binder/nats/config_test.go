package nats

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/streambind/streambind/stream"
)

func TestSettingsDefaults(t *testing.T) {
	st, err := parseSettings(stream.BinderSettings{Name: "nats"})
	if err != nil {
		t.Fatal(err)
	}
	if st.servers[0] != DefaultServers || st.stream.maxAge != DefaultMaxAge || st.stream.retention != jetstream.LimitsPolicy || st.reconnectMax != DefaultReconnectMax || st.claimBucket != "streambind-dlq-claims" {
		t.Errorf("defaults: %+v", st)
	}
}

func TestSettingsDecode(t *testing.T) {
	st, err := parseSettings(stream.BinderSettings{
		Name:   "n",
		Binder: map[string]any{"servers": "a:1, nats://b", "stream": map[string]any{"retention": "workqueue", "max-age": 0, "replicas": 3}},
		Environment: map[string]any{
			"servers": []any{"nats://c:4223"}, "connectTimeout": "2s", "reconnect-initial-interval": 50, "dlqClaimBucket": "orders_dlq-claims",
			"stream": map[string]any{"max-msgs": "1000", "storage": "memory", "discard": "new", "duplicate-window": "1m", "max-msg-size": 4096},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.servers) != 1 || st.servers[0] != "nats://c:4223" {
		t.Errorf("servers %v: the environment wins", st.servers)
	}
	if st.claimBucket != "orders_dlq-claims" || ClaimBucketOf(st.claimBucket, 6*time.Second) != "orders_dlq-claims-6000ms" || ClaimBucketOf(st.claimBucket, stream.DefaultDeadLetterLease) != "orders_dlq-claims" {
		t.Errorf("dlq-claim-bucket %q", st.claimBucket)
	}
	if st.connectTimeout != 2*time.Second || st.reconnectInit != 50*time.Millisecond {
		t.Errorf("durations: %s %s", st.connectTimeout, st.reconnectInit)
	}
	ss := st.stream
	if ss.retention != jetstream.WorkQueuePolicy || ss.maxAge != 0 || ss.replicas != 3 || ss.maxMsgs != 1000 ||
		ss.storage != jetstream.MemoryStorage || ss.discard != jetstream.DiscardNew || ss.duplicateWindow != time.Minute || ss.maxMsgSize != 4096 {
		t.Errorf("stream settings: %+v", ss)
	}
}

func TestSettingsErrors(t *testing.T) {
	const pw = "hunter2-secret"
	_, err := parseSettings(stream.BinderSettings{
		Name: "n",
		Environment: map[string]any{
			"servrs":   "x",
			"password": pw,
			"token":    "tok-abcdef-123",
			"stream":   map[string]any{"retention": "forever", "max-msgs": 0, "colour": "red"},
			"tls":      map[string]any{"cert-file": "/nope"},
			"servers":  "ftp://u:" + pw + "@h",
		},
		Binder: map[string]any{"dlq-claim-bucket": "claims.orders"},
	})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"stream.binders.n.environment.servrs: unknown key",
		"stream.binders.n.environment.stream.retention: want limits, interest or workqueue",
		"stream.binders.n.environment.stream.max-msgs: must be -1 (unlimited) or at least 1",
		"stream.binders.n.environment.stream.colour: unknown key",
		"stream.binders.n.environment.servers: server 1: scheme \"ftp\"",
		"stream.binders.n.environment.token: set only one of username/password, token and credentials-file (also set: stream.binders.n.environment.password)",
		"stream.binders.n.environment.password: username is required with password",
		"cert-file and key-file go together",
		`stream.nats.binder.dlq-claim-bucket: "claims.orders" is not a key-value bucket name: letters, digits, - and _ only`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, pw) {
		t.Errorf("error shows the password:\n%s", msg)
	}
}

func TestBindingProperties(t *testing.T) {
	cs, err := parseConsumer("f-in-0", map[string]any{"ack-wait": "5s", "max-deliver": 5, "maxAckPending": -1, "prefetch": 16, "redelivery-delay": 0, "start-offset": "latest", "partition-count": 4})
	if err != nil {
		t.Fatal(err)
	}
	if cs.ackWait != 5*time.Second || cs.maxDeliver != 5 || cs.maxAckPending != -1 || cs.prefetch != 16 || cs.redeliveryDelay != 0 || cs.startOffset != "latest" || cs.partitionCount != 4 {
		t.Errorf("consumer properties: %+v", cs)
	}
	_, err = parseConsumer("f-in-0", map[string]any{"ack-wait": "10ms", "max-deliver": 0, "dlq-name": "a.*", "bogus": 1})
	for _, want := range []string{"ack-wait: must be at least 1s", "max-deliver: must be -1", "dlq-name: destination \"a.*\": wildcards", "bogus: unknown key"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	// max-deliveries, the redis binder's name, is the same setting.
	if cs, err := parseConsumer("f-in-0", map[string]any{"max-deliveries": 4}); err != nil || cs.maxDeliver != 4 {
		t.Errorf("max-deliveries: %d, %v; want 4", cs.maxDeliver, err)
	}
	if _, err := parseConsumer("f-in-0", map[string]any{"max-deliveries": 4, "maxDeliver": 4}); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("max-deliver and max-deliveries together: %v", err)
	}
	ps, err := parseProducer("f-out-0", map[string]any{"send-timeout": "1s", "send-attempts": 2})
	if err != nil || ps.sendTimeout != time.Second || ps.sendAttempts != 2 {
		t.Errorf("producer properties: %+v %v", ps, err)
	}
	if _, err := parseProducer("f-out-0", map[string]any{"send-attempts": 0}); err == nil {
		t.Error("send-attempts 0 accepted")
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"orders":    "orders",
		"orders.eu": "orders_eu",
		"Orders-1":  "Orders-1",
	} {
		if got := StreamName(in); got != want {
			t.Errorf("StreamName(%q) = %q, want %q", in, got, want)
		}
	}
	// Lossy names get a hash, so different inputs never share a name.
	seen := map[string]string{}
	for _, in := range []string{"a.b", "a_b", "a b", "a/b", "a*b", strings.Repeat("x", 300), strings.Repeat("x", 301)} {
		n := safeName(in)
		if prev, ok := seen[n]; ok {
			t.Errorf("%q and %q both give %q", prev, in, n)
		}
		seen[n] = in
		if len(n) > maxNameLen+9 || strings.ContainsAny(n, ". *>/\\") {
			t.Errorf("safeName(%q) = %q: not a valid name", in, n)
		}
	}
	if DurableName("payment", -1) != "payment" || DurableName("payment", 2) != "payment_p2" {
		t.Errorf("DurableName: %q %q", DurableName("payment", -1), DurableName("payment", 2))
	}
}

func TestCheckSubject(t *testing.T) {
	for _, ok := range []string{"orders", "a.b.c", "error.orders.g", "ü.x"} {
		if err := checkSubject(ok); err != nil {
			t.Errorf("checkSubject(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a..b", ".a", "a.", "a.*", "a.>", "a b", "a\tb", "\xff"} {
		if checkSubject(bad) == nil {
			t.Errorf("checkSubject(%q) accepted", bad)
		}
	}
}

func TestSubjectMatches(t *testing.T) {
	for _, c := range []struct {
		pattern, subject string
		want             bool
	}{
		{"a", "a", true}, {"a", "a.b", false}, {"a.>", "a", false}, {"a.>", "a.b.c", true},
		{"a.*", "a.b", true}, {"a.*", "a.b.c", false}, {"*.b", "a.b", true}, {">", "x", true},
	} {
		if got := subjectMatches(c.pattern, c.subject); got != c.want {
			t.Errorf("subjectMatches(%q, %q) = %v", c.pattern, c.subject, got)
		}
	}
}

// TestHeaderValues: values NATS cannot carry as they are round-trip
// through an encoded word; ordinary values travel unchanged.
func TestHeaderValues(t *testing.T) {
	for _, v := range []string{"plain", "", "a: b", "line1\nline2", " lead", "trail\t", "=?utf-8?b?looks-encoded?=", "cr\rlf", "ünïcode", "tab\tinside"} {
		enc := encodeValue(v)
		if strings.ContainsAny(enc, "\r\n") {
			t.Errorf("encodeValue(%q) = %q holds a line break", v, enc)
		}
		if got := decodeValue(enc); got != v {
			t.Errorf("round trip of %q: got %q (encoded %q)", v, got, enc)
		}
	}
	if encodeValue("plain text") != "plain text" {
		t.Error("a plain value was encoded")
	}
	h, id, err := toHeader(stream.Envelope{Headers: stream.Headers{"x": "1\n2"}, Key: []byte{0xff, 0}}, "text/plain", func() string { return "gen" })
	if err != nil || id != "gen" {
		t.Fatalf("toHeader: %v %q", err, id)
	}
	env := fromMsg(h, nil)
	if env.Headers["x"] != "1\n2" || string(env.Key) != "\xff\x00" || env.Headers[stream.HeaderContentType] != "text/plain" || env.Headers[stream.HeaderID] != "gen" {
		t.Errorf("round trip: %+v", env)
	}
	for _, bad := range []string{"a b", "a:b", "", "Nats-Rollup", "é"} {
		if _, _, err := toHeader(stream.Envelope{Headers: stream.Headers{bad: "v"}}, "", func() string { return "x" }); err == nil {
			t.Errorf("header name %q accepted", bad)
		}
	}
	if e := fromMsg(natsgo.Header{"Nats-Msg-Id": {"x"}, "k": {"v", "w"}}, nil); e.Headers["Nats-Msg-Id"] != "" || e.Headers["k"] != "v" {
		t.Errorf("fromMsg: %+v", e.Headers)
	}
}

func TestPartitions(t *testing.T) {
	if got := partitionsOf(1, 2, 6); len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 5 {
		t.Errorf("partitionsOf(1, 2, 6) = %v", got)
	}
	if got := partitionsOf(3, 4, 2); got != nil {
		t.Errorf("partitionsOf(3, 4, 2) = %v", got)
	}
	if partitionOf("a.b", "a.b.3") != 3 || partitionOf("a.b", "a.b") != -1 || partitionOf("a.b", "a.b.x") != -1 {
		t.Error("partitionOf")
	}
}

func TestWireSize(t *testing.T) {
	h := natsgo.Header{"k": {"v"}}
	// NATS/1.0\r\n k: v\r\n \r\n
	if n := wireSize(h, []byte("12345")); n != len("NATS/1.0\r\nk: v\r\n\r\n")+5 {
		t.Errorf("wireSize = %d", n)
	}
}

// A credentials file that cannot be read is reported at the key where it
// was written (binder settings or environment), as a file problem
// ("file <name>: ..."), which streambind lint tells apart from a wrong
// setting.
func TestSettingsCredentialsFileMissing(t *testing.T) {
	missing := t.TempDir() + "/nope.creds"
	for _, tc := range []struct {
		name string
		s    stream.BinderSettings
		at   string
	}{
		{"binder", stream.BinderSettings{Name: "n", Binder: map[string]any{"credentials-file": missing}}, "stream.nats.binder.credentials-file"},
		{"environment", stream.BinderSettings{Name: "n", Environment: map[string]any{"credentials-file": missing}}, "stream.binders.n.environment.credentials-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSettings(tc.s)
			if err == nil {
				t.Fatal("no error for a credentials file that does not exist")
			}
			if want := tc.at + ": file " + missing + ": cannot be read"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		})
	}
}

// testCreds are the parts of a NATS credentials file, made as nsc makes
// them: a user JWT signed by an account, and the user's nkey seed.
type testCreds struct {
	jwt, seed string
	file      string // the .creds file (decorated JWT and seed)
}

// newTestCreds makes a user of a new account; edit, if not nil, changes
// the user's claims before they are signed.
func newTestCreds(t *testing.T, edit func(*jwt.UserClaims)) testCreds {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	akp, err := nkeys.CreateAccount()
	must(err)
	ukp, err := nkeys.CreateUser()
	must(err)
	upub, err := ukp.PublicKey()
	must(err)
	uc := jwt.NewUserClaims(upub)
	uc.Name = "streambind"
	if edit != nil {
		edit(uc)
	}
	ujwt, err := uc.Encode(akp)
	must(err)
	seed, err := ukp.Seed()
	must(err)
	file, err := jwt.FormatUserConfig(ujwt, seed)
	must(err)
	return testCreds{jwt: ujwt, seed: string(seed), file: string(file)}
}

// writeCreds writes text to a file name in a temporary directory.
func writeCreds(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A credentials file that is there but does not hold a user JWT and its
// nkey seed (as nats.go's UserCredentials reads them) is reported when the
// settings are read, as a file problem at the key where it was written,
// never with the file's contents; a real one passes.
func TestSettingsCredentialsFileContents(t *testing.T) {
	good := newTestCreds(t, nil)
	other := newTestCreds(t, nil)
	bearer := newTestCreds(t, func(uc *jwt.UserClaims) { uc.BearerToken = true })
	expired := newTestCreds(t, func(uc *jwt.UserClaims) { uc.Expires = time.Now().Add(-time.Hour).Unix() })
	// The seed block alone: the file after the JWT block.
	seedOnly := good.file[strings.Index(good.file, "************************* IMPORTANT"):]
	akp, err := nkeys.CreateAccount()
	if err != nil {
		t.Fatal(err)
	}
	aseed, _ := akp.Seed()
	apub, _ := akp.PublicKey()
	ajwt, err := jwt.NewAccountClaims(apub).Encode(akp)
	if err != nil {
		t.Fatal(err)
	}
	// An account's JWT and seed in a user's file (FormatUserConfig refuses
	// to write one).
	accountCreds := strings.Replace(strings.Replace(good.file, good.jwt, ajwt, 1), good.seed, string(aseed), 1)
	tampered := strings.Replace(good.file, good.jwt, good.jwt[:len(good.jwt)-4]+"AAAA", 1)
	const want = " (want a NATS credentials file: a user JWT and its nkey seed, as nsc writes it)"
	for _, tc := range []struct {
		name, text, problem string
		secrets             []string // must not show
	}{
		{"garbage", "not a creds file\nSUPER secret line\n", "holds no user JWT, holds an nkey seed that is not valid", []string{"not a creds file", "SUPER secret"}},
		{"text", "hello: world\n", "holds no user JWT, holds no nkey seed", []string{"hello"}},
		{"empty", "", "is empty", nil},
		{"blank", " \n\t\n", "is empty", nil},
		{"jwt-only", good.file[:strings.Index(good.file, "************************* IMPORTANT")], "holds no nkey seed", []string{good.jwt}},
		{"bare-jwt", good.jwt + "\n", "holds no nkey seed", []string{good.jwt}},
		{"seed-only", seedOnly, "holds no user JWT", []string{good.seed}},
		{"bare-seed", good.seed + "\n", "holds no user JWT", []string{good.seed}},
		{"other-seed", strings.Replace(good.file, good.seed, other.seed, 1), "holds an nkey seed that is not the user JWT's", []string{good.seed, other.seed}},
		{"account", accountCreds, "holds a JWT that is not a user's, holds an nkey seed that is not a user's", []string{string(aseed), ajwt}},
		{"tampered", tampered, "holds a user JWT that is not valid", []string{good.seed}},
		{"expired", expired.file, "holds a user JWT that expired ", []string{expired.seed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := writeCreds(t, "app.creds", tc.text)
			for _, src := range []struct {
				s  stream.BinderSettings
				at string
			}{
				{stream.BinderSettings{Name: "n", Binder: map[string]any{"credentials-file": f}}, "stream.nats.binder.credentials-file"},
				{stream.BinderSettings{Name: "n", Environment: map[string]any{"Credentials_File": f}}, "stream.binders.n.environment.Credentials_File"},
			} {
				_, err := parseSettings(src.s)
				if err == nil {
					t.Fatalf("%s: no error", src.at)
				}
				msg := err.Error()
				if w := src.at + ": file " + f + ": " + tc.problem; !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
				if !strings.HasSuffix(msg, want) {
					t.Errorf("error %q does not end with %q", msg, want)
				}
				for _, s := range tc.secrets {
					if strings.Contains(msg, s) {
						t.Errorf("error shows the file's contents (%.12s...): %s", s, msg)
					}
				}
			}
		})
	}
	for name, c := range map[string]testCreds{"good": good, "bearer": bearer} {
		f := writeCreds(t, name+".creds", c.file)
		st, err := parseSettings(stream.BinderSettings{Name: "n", Environment: map[string]any{"credentials-file": f}})
		if err != nil || st.credentials != f {
			t.Errorf("%s: %q, %v", name, st.credentials, err)
		}
	}
	// What the check accepts, nats.go's own reading accepts too.
	var o natsgo.Options
	if err := natsgo.UserCredentials(writeCreds(t, "check.creds", good.file))(&o); err != nil {
		t.Fatal(err)
	}
	if tok, err := o.UserJWT(); err != nil || tok != good.jwt {
		t.Errorf("nats.go reads JWT %q, %v", tok, err)
	}
}

// Two auth methods, or a password without a username, are reported at the
// key where the (second) setting was written, in the binder settings or in
// the environment, naming where the other one is.
func TestSettingsAuthConflictAt(t *testing.T) {
	creds := writeCreds(t, "app.creds", newTestCreds(t, nil).file)
	const (
		b   = "stream.nats.binder."
		env = "stream.binders.n.environment."
		one = "set only one of username/password, token and credentials-file"
	)
	for _, tc := range []struct {
		name        string
		binder, env map[string]any
		want        string
	}{
		{"binder", map[string]any{"token": "t0k", "credentials-file": creds}, nil, b + "token: " + one + " (also set: " + b + "credentials-file)"},
		{"environment", nil, map[string]any{"token": "t0k", "credentials-file": creds}, env + "token: " + one + " (also set: " + env + "credentials-file)"},
		{"across", map[string]any{"credentials-file": creds}, map[string]any{"token": "t0k"}, env + "token: " + one + " (also set: " + b + "credentials-file)"},
		{"across-reverse", map[string]any{"token": "t0k"}, map[string]any{"creds": creds}, env + "creds: " + one + " (also set: " + b + "token)"},
		{"user-password", map[string]any{"user": "u", "password": "pw"}, map[string]any{"token": "t0k"}, env + "token: " + one + " (also set: " + b + "user)"},
		{"password-last", map[string]any{"token": "t0k"}, map[string]any{"password": "pw", "username": "u"}, env + "username: " + one + " (also set: " + b + "token)"},
		{"three", map[string]any{"token": "t0k", "credentials-file": creds}, map[string]any{"password": "pw", "username": "u"}, env + "username: " + one + " (also set: " + b + "credentials-file, " + b + "token)"},
		{"password-binder", map[string]any{"password": "pw"}, nil, b + "password: username is required with password"},
		{"password-env", map[string]any{"username": ""}, map[string]any{"Password": "pw"}, env + "Password: username is required with password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSettings(stream.BinderSettings{Name: "n", Binder: tc.binder, Environment: tc.env})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			for _, s := range []string{"t0k", "pw"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error shows a secret: %v", err)
				}
			}
			if strings.Contains(err.Error(), "stream.binders.n.environment:") {
				t.Errorf("a problem at the environment itself, not at a key: %v", err)
			}
		})
	}
	// A setting cleared by a later source is not set.
	if _, err := parseSettings(stream.BinderSettings{Name: "n", Binder: map[string]any{"token": "t0k"}, Environment: map[string]any{"token": "", "credentials-file": creds}}); err != nil {
		t.Errorf("token cleared in the environment: %v", err)
	}
}
