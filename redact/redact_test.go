package redact_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/redact"
)

// secret is planted in every case that must be redacted; no output may hold
// it, or any of its pieces.
const secret = "S3cr"

// TestValue covers configuration values: each in is one whole value.
func TestValue(t *testing.T) {
	cases := []struct{ in, want string }{
		// URLs that parse.
		{"amqp://guest:S3cr@127.0.0.1:5672/", "amqp://guest:******@127.0.0.1:5672/"},
		{"amqps://u:p%40S3cr@h:5671/vh", "amqps://u:******@h:5671/vh"},
		{"redis://:S3cr@cache:6379", "redis://:******@cache:6379"},
		{"postgres://u:S3cr@h/db?sslmode=disable", "postgres://u:******@h/db?sslmode=disable"},
		{"jdbc:postgresql://h:5432/db?user=u&password=S3cr&ssl=true", "jdbc:postgresql://h:5432/db?user=u&password=******&ssl=true"},
		{"amqp://u:S3cr@[::1]:5672/", "amqp://u:******@[::1]:5672/"},
		{"amqp://u:S3cr@/vh", "amqp://u:******@/vh"},
		{"https://x-access-token:S3cr@github.com/o/r.git", "https://x-access-token:******@github.com/o/r.git"},
		{"mongodb://u:S3cr@h1:27017,h2:27017/db?authSource=admin", "mongodb://u:******@h1:27017,h2:27017/db?authSource=admin"},
		// Raw characters in the password (case 7).
		{"amqp://user:S3cr,x@host:5672/vh", "amqp://user:******@host:5672/vh"},
		{"amqp://user:S3cr/x@host:5672/vh", "amqp://user:******@host:5672/vh"},
		{"amqp://user:S3cr x@host:5672/vh", "amqp://user:******@host:5672/vh"},
		{"amqp://user:S3cr@x@host:5672/vh", "amqp://user:******@host:5672/vh"},
		{"amqp://user:S3cr:x@host:5672/vh", "amqp://user:******@host:5672/vh"},
		{"amqp://user:S3cr#x@host/vh", "amqp://user:******@host/vh"},
		{"amqp://user:S3cr?x@host/vh", "amqp://user:******@host/vh"},
		{"amqp://user:S3cr@x y/z,w@host", "amqp://user:******@host"},
		{"amqp://user:S3cr/x", "amqp://user:******"},
		// A NATS URL's lone user info is a token; elsewhere a user name.
		{"nats://S3cr@h:4222", "nats://******@h:4222"},
		{"tls://S3cr@h:4222,nats://u:S3cr@h2", "tls://******@h:4222,nats://u:******@h2"},
		{"amqp://guest@h/", "amqp://guest@h/"},
		// Lists.
		{"kafka://a:S3cr@h1:9092,amqp://c:S3cr@h2:5672", "kafka://a:******@h1:9092,amqp://c:******@h2:5672"},
		{"amqp://a:S3cr,1@h1, amqp://c:S3cr/2@h2", "amqp://a:******@h1, amqp://c:******@h2"},
		{"a:S3cr@h1:5672,c:S3cr@h2", "a:******@h1:5672,c:******@h2"},
		// No scheme (case 7).
		{"guest:S3cr@rabbit:5672", "guest:******@rabbit:5672"},
		{"guest:S3cr,x@rabbit:5672", "guest:******@rabbit:5672"},
		{"guest:S3cr x@rabbit", "guest:******@rabbit"},
		{"guest:S3cr@x@rabbit", "guest:******@rabbit"},
		{"u:S3cr@tcp(db:3306)/app?parseTime=true", "u:******@tcp(db:3306)/app?parseTime=true"},
		// Query parameters and DSNs.
		{"amqp://h/vh?password=S3cr", "amqp://h/vh?password=******"},
		{"https://h/x?token=S3cr&page=2", "https://h/x?token=******&page=2"},
		{"https://h/x?access_token=S3cr", "https://h/x?access_token=******"},
		{"https://h/x?api-key=S3cr,x/y:z@w", "https://h/x?api-key=******"},
		{"https://acct.blob.core.windows.net/c?sv=2020&sig=S3cr%2B", "https://acct.blob.core.windows.net/c?sv=2020&sig=******"},
		{"https://h/?X-Amz-Credential=S3cr&X-Amz-Signature=S3cr", "https://h/?X-Amz-Credential=******&X-Amz-Signature=******"},
		{"kafka?sasl.password=S3cr", "kafka?sasl.password=******"},
		{"host=h port=5432 password=S3cr dbname=app", "host=h port=5432 password=****** dbname=app"},
		{"host=h password='S3cr x' dbname=app", "host=h password='******' dbname=app"},
		{"Server=h;Database=d;User Id=u;Password=S3cr;", "Server=h;Database=d;User Id=u;Password=******;"},
		{"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=S3cr=", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=******"},
		{"DRIVER={x};PWD=S3cr;UID=u", "DRIVER={x};PWD=******;UID=u"},
		{`org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="S3cr";`,
			`org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="******";`},
		{`{"user":"u","password":"S3cr\"x","n":1}`, `{"user":"u","password":"******","n":1}`},
		{`{"token": 12345S3cr}`, `{"token": ******}`},
		// Authorization values.
		{"Bearer S3cr.abc-def", "Bearer ******"},
		{"Authorization: Bearer S3cr", "Authorization: Bearer ******"},
		{"Basic " + "dTpTM2Ny", "Basic ******"}, // base64("u:S3cr")
		// PEM.
		{"-----BEGIN PRIVATE KEY-----\nMIIS3cr\n-----END PRIVATE KEY-----", "******"},
		{"x -----BEGIN RSA PRIVATE KEY-----\nMIIS3cr", "x ******"},
		// Not secrets: untouched.
		{"no secret here", "no secret here"},
		{"user@example.com", "user@example.com"},
		{"ops@example.com, dev@example.com", "ops@example.com, dev@example.com"},
		{"amqp://guest@h:5672/", "amqp://guest@h:5672/"},
		{"amqp://h1:5672,amqp://h2:5672", "amqp://h1:5672,amqp://h2:5672"},
		{"h1:9092,h2:9092", "h1:9092,h2:9092"},
		{"https://medium.com/@someone", "https://medium.com/@someone"},
		{"http://h:8080/x?page=2&sort=asc", "http://h:8080/x?page=2&sort=asc"},
		{"headers.key", "headers.key"},
		{"Basic usage", "Basic usage"},
		{"host=h sslmode=disable", "host=h sslmode=disable"},
		{"-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----", "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----"},
	}
	for _, c := range cases {
		got := redact.Value(c.in)
		if got != c.want {
			t.Errorf("Value(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
		if strings.Contains(c.want, secret) {
			t.Fatalf("bad case: want %q holds the secret", c.want)
		}
	}
}

// TestString covers free text: errors and log lines.
func TestString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"dial amqp://guest:S3cr@127.0.0.1:5672/: connection refused", "dial amqp://guest:******@127.0.0.1:5672/: connection refused"},
		{"dial amqps://u:p%40S3cr@h:5671/vh: refused", "dial amqps://u:******@h:5671/vh: refused"},
		{"binder nats at nats://S3cr@h:4222 is unavailable", "binder nats at nats://******@h:4222 is unavailable"},
		{"kafka://a:S3cr@h1:9092,amqp://c:S3cr@h2:5672 failed", "kafka://a:******@h1:9092,amqp://c:******@h2:5672 failed"},
		{"dial amqp://user:S3cr x@host:5672/vh: refused", "dial amqp://user:******@host:5672/vh: refused"},
		{"dial amqp://user:S3cr/x@host:5672/vh: refused", "dial amqp://user:******@host:5672/vh: refused"},
		{"dial amqp://user:S3cr,x@host: refused", "dial amqp://user:******@host: refused"},
		{"dial amqp://user:S3cr@x@host: refused", "dial amqp://user:******@host: refused"},
		{"connecting to guest:S3cr@rabbit:5672 now", "connecting to guest:******@rabbit:5672 now"},
		{"open postgres://u:S3cr@h/db?sslmode=disable: timeout", "open postgres://u:******@h/db?sslmode=disable: timeout"},
		{`pq: connect "host=h password=S3cr": refused`, `pq: connect "host=h password=******": refused`},
		{"GET /x?token=S3cr HTTP/1.1", "GET /x?token=****** HTTP/1.1"},
		{"header Authorization: Bearer S3cr rejected", "header Authorization: Bearer ****** rejected"},
		// Left alone.
		{"dial amqp://h:5672. Contact ops@example.com", "dial amqp://h:5672. Contact ops@example.com"},
		{"user lookup failed for bob@example.com", "user lookup failed for bob@example.com"},
		{"error: lookup ops@example.com: no such host", "error: lookup ops@example.com: no such host"},
		{"at 12:30 bob@example.com logged in", "at 12:30 bob@example.com logged in"},
		{"see http://example.com/a:b@c", "see http://example.com/a:b@c"},
		{"dial user:S3cr x@host:5672: refused", "dial user:******@host:5672: refused"},
		{"Basic auth is not configured", "Basic auth is not configured"},
		{"offset=12 partition=3 group=g", "offset=12 partition=3 group=g"},
		// key= is hidden wherever it appears (Google's ?key=, a PEM in a
		// connection string), a message key in an error included.
		{"offset=12 key=k1", "offset=12 key=******"},
	}
	for _, c := range cases {
		if got := redact.String(c.in); got != c.want {
			t.Errorf("String(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestIsSecretKey(t *testing.T) {
	secret := []string{
		"password", "PASSWORD", "db-password", "dbPassword", "dbpassword", "db_password", "passwd", "pwd", "myapp.pwd",
		"dbpwd", "pass", "dbpass", "passphrase", "ssl.key.password", "key-password", "keyStorePassword",
		"secret", "client-secret", "clientSecret", "clientsecret", "secret-access-key", "token", "access_token",
		"refreshToken", "credentials", "google-credentials", "auth", "auth-header", "authheader", "authHeader",
		"Authorization", "basic-auth", "basicAuth", "oauth", "proxy-authorization", "jaas", "sasl.jaas.config", "saslJaasConfig",
		"sasljaasconfig", "key", "keys", "tls.key", "api-key", "apiKey", "apikey", "x-api-key", "API_KEY",
		"private-key", "privateKey", "privatekey", "private", "secret-key", "access-key", "accesskey",
		"signing-key", "encryption-key", "client-key", "ssl-key", "master-key", "SharedAccessKey", "AccountKey",
		"dsn", "sentry-dsn", "auth-token", "authValue", "connection-string", "connectionString", "connectionstring", "sig", "X-Amz-Signature",
		"basic.auth.user.info", "schema.registry.basic.auth.user.info", "ssl.keystore.key", "stream.kafka.binder.configuration.ssl.keystore.key", "user-info", "userinfo",
		"spring.kafka.consumer.properties.basic.auth.user.info", "sasl.oauthbearer.client.secret",
		"stream.kafka.binder.consumer-properties.basic.auth.user.info",
		// A key naming a file, but by a word that names a secret value.
		"password-file", "passwordFile", "token-file", "secret-file", "jaas-file", "key-store-password-file",
		// Under a secret container, or not a file: hidden as before.
		"credentials.file", "credentials-profile", "google-application-credentials", "ssl.keystore.key",
	}
	for _, k := range secret {
		if !redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = false", k)
		}
	}
	plain := []string{
		"user", "username", "host", "url", "uri", "uris", "brokers", "group", "destination",
		"routing-key", "routingKey", "routingkey", "partition-key-expression", "partitionKeyExpression",
		"partitionkeyexpression", "key-serializer", "keySerializer", "key.serializer", "key.deserializer",
		"message-key", "public-key", "publickey", "keystore", "key-store-type", "key-file", "keystore-location",
		"truststore", "bypass", "bypass-proxy", "compass", "author", "authority", "passive", "monkey",
		"authentication", "authSource", "authsource", "auth-mechanism", "authorization-uri", "authorization-grant-type",
		"stream.bindings.resetPassword-in-0.destination", "stream.bindings.token-out.group",
		"stream.binders.secrets.type", "stream.function.bindings.password-in-0", "sslmode", "signature-algorithm", "access-key-id", "SharedAccessKeyName",
		"user.info.url", "stream.bindings.user.info", "schema.registry.url",
		// Keys naming a file: a path, not a secret.
		"credentials-file", "credentialsFile", "credentialsfile", "CREDENTIALS_FILE", "stream.nats.binder.credentials-file",
		"stream.binders.n.environment.credentials-file", "credentials-path", "credentials-file-name", "credentials-location",
		"private-key-file", "privateKeyFile", "privatekeyfile", "private-key-path", "tls.key-file", "ssl-key-file",
		"client-key-file", "api-key-file", "ssl.key.location", "ssl.keystore.location", "ssl.truststore.location",
		"key-store-location", "spring.kafka.ssl.key-store-location", "cert-file", "ca-file",
	}
	for _, k := range plain {
		if redact.IsSecretKey(k) {
			t.Errorf("IsSecretKey(%q) = true", k)
		}
	}
}

func TestTree(t *testing.T) {
	in := map[string]any{
		"stream": map[string]any{
			"binders": map[string]any{"k": map[string]any{"type": "kafka", "environment": map[string]any{
				"brokers": "h:9092", "sasl": map[string]any{"mechanism": "PLAIN", "username": "u", "password": "S3cr"},
				"ssl-key-password": "S3cr", "uris": []any{"amqp://u:S3cr@h/", "amqp://u:S3cr,x@h2/"}, "token": 12345,
				"configuration": map[string]any{
					"sasl":  map[string]any{"jaas": map[string]any{"config": `PlainLoginModule required password="S3cr";`}},
					"key":   map[string]any{"serializer": "org.apache.kafka.common.serialization.StringSerializer"},
					"ssl":   map[string]any{"keystore": map[string]any{"key": "-----BEGIN ENCRYPTED PRIVATE KEY-----\nS3cr"}},
					"other": "guest:S3cr@h",
				}}}},
			"bindings": map[string]any{"resetPassword-in-0": map[string]any{"destination": "resets", "group": "g"}},
			"kafka": map[string]any{"bindings": map[string]any{"x": map[string]any{"producer": map[string]any{
				"routing-key": "orders", "partition-key-expression": "headers.key"}}}},
		},
		"myapp": map[string]any{
			"db":          map[string]any{"url": "postgres://u:S3cr@h/db?sslmode=disable", "dsn": "host=h password=S3cr", "options": "host=h password=S3cr", "user": "u"},
			"pwd":         "S3cr",
			"auth-header": "Bearer S3cr",
			"authheader":  "Basic S3cr",
			"credentials": map[string]any{"user": "svc", "key-id": "S3cr"},
			"api-keys":    []any{"S3cr1", "S3cr2"},
			"headers":     map[string]string{"Authorization": "Bearer S3cr", "Accept": "application/json"},
			"list":        []string{"postgres://u:S3cr@h/db"},
			"limits":      map[string]any{"max": 3, "enabled": true},
		},
	}
	before, _ := json.Marshal(in)
	out := redact.Tree(in)
	raw, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	if strings.Contains(s, secret) || strings.Contains(s, "12345") {
		t.Fatalf("a secret survives: %s", s)
	}
	for _, keep := range []string{`"h:9092"`, `"PLAIN"`, `"username":"u"`, `"amqp://u:******@h/"`, `"amqp://u:******@h2/"`,
		`"StringSerializer"`, `"resets"`, `"orders"`, `"headers.key"`, `"postgres://u:******@h/db?sslmode=disable"`,
		`"host=h password=******"`, `"application/json"`, `"max":3`, `"enabled":true`, `"guest:******@h"`, `"resetPassword-in-0"`} {
		if !strings.Contains(s, strings.Trim(keep, `"`)) {
			t.Errorf("%s lost: %s", keep, s)
		}
	}
	after, _ := json.Marshal(in)
	if string(before) != string(after) {
		t.Fatal("Tree modified its input")
	}
	// A secret map keeps its keys.
	creds := out.(map[string]any)["myapp"].(map[string]any)["credentials"].(map[string]any)
	if creds["user"] != redact.Redacted || creds["key-id"] != redact.Redacted {
		t.Fatalf("credentials: %v", creds)
	}
}

// TestTreeFilePaths: the path of a file a key names is shown (streambind
// config, /actuator/config), the secrets next to it are not; a password in
// a URL given as a "path" is still hidden.
func TestTreeFilePaths(t *testing.T) {
	in := map[string]any{"stream": map[string]any{"nats": map[string]any{"binder": map[string]any{
		"credentials-file": "/etc/nats/app.creds",
		"password":         "S3cr",
		"token":            "S3cr",
		"tls":              map[string]any{"key-file": "/etc/tls/key.pem", "cert-file": "/etc/tls/cert.pem", "private-key-path": "/etc/tls/pk.pem"},
	}}, "kafka": map[string]any{"binder": map[string]any{"configuration": map[string]any{
		"ssl.keystore.location": "/etc/kafka/ks.pem", "ssl.key.password": "S3cr", "sasl.jaas.config": `x password="S3cr";`,
	}}}},
		"myapp": map[string]any{"password-file": "/run/secrets/S3cr", "credentials-location": "https://u:S3cr@h/creds"}}
	raw, err := json.Marshal(redact.Tree(in))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	if strings.Contains(s, secret) {
		t.Fatalf("a secret survives: %s", s)
	}
	for _, keep := range []string{`"credentials-file":"/etc/nats/app.creds"`, `"key-file":"/etc/tls/key.pem"`, `"cert-file":"/etc/tls/cert.pem"`,
		`"private-key-path":"/etc/tls/pk.pem"`, `"ssl.keystore.location":"/etc/kafka/ks.pem"`, `"credentials-location":"https://u:******@h/creds"`,
		`"password-file":"******"`} {
		if !strings.Contains(s, keep) {
			t.Errorf("want %s in %s", keep, s)
		}
	}
	// A log line or error naming the key shows the path too.
	if got := redact.String("open credentials-file=/etc/nats/app.creds: no such file, password=S3cr"); got != "open credentials-file=/etc/nats/app.creds: no such file, password=******" {
		t.Errorf("String = %q", got)
	}
}

// Fuzz-style sweep: a password made of every awkward character, in every
// form, never survives in a configuration value.
func TestAwkwardPasswords(t *testing.T) {
	for _, pw := range []string{"S3cr,x", "S3cr/x", "S3cr x", "S3cr@x", "S3cr:x", "S3cr#x", "S3cr?x", "S3cr;x", "S3cr&x",
		"S3cr%x", "x,S3cr", "x/S3cr", "x S3cr", "x@S3cr", "a,b/c d@e:S3cr"} {
		forms := []string{
			"amqp://user:" + pw + "@host:5672/vh",
			"amqp://user:" + pw + "@host",
			"amqp://:" + pw + "@host",
			"user:" + pw + "@host:5672",
			"amqp://user:" + pw + "@h1:5672,amqp://user:" + pw + "@h2:5672",
			"postgres://u:" + pw + "@h/db?sslmode=disable",
		}
		for _, f := range forms {
			got := redact.Value(f)
			for _, piece := range strings.FieldsFunc(pw, func(r rune) bool { return strings.ContainsRune(",/ @:#?;&%", r) }) {
				if len(piece) > 1 && strings.Contains(got, piece) {
					t.Errorf("Value(%q) = %q: %q survives", f, got, piece)
				}
			}
			if prose := redact.String("dial " + f + ": refused"); strings.Contains(prose, "S3cr") {
				t.Errorf("String(%q) = %q", "dial "+f+": refused", prose)
			}
		}
	}
}

func ExampleValue() {
	fmt.Println(redact.Value("amqp://user:p/w,d@rabbit:5672/vh"))
	fmt.Println(redact.Value("host=db password=hunter2 dbname=app"))
	// Output:
	// amqp://user:******@rabbit:5672/vh
	// host=db password=****** dbname=app
}

// FuzzPassword plants a password of any characters in the forms a user
// writes, and checks that no piece of it survives in the configuration
// value. A query parameter whose value holds raw white space, '&', ';',
// '#', '=' or a quote is out of scope (it cannot be told from the next
// pair); so is a password that makes "user:"+pw hold "://", in the form without
// a scheme, is out of scope (it reads as a URL of its own).
func FuzzPassword(f *testing.F) {
	for _, pw := range []string{"S3cret", "S3cr,x", "S3cr/x y@z", "a:b@c#d?e", "x://S3cret", "S3cr%zz", "[S3cr]", "S3cr\nx"} {
		f.Add(pw)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				panic(fmt.Sprintf("HANG %q", pw))
			}
		}()
		forms := []string{
			"amqp://user:" + pw + "@host:5672/vh",
			"amqp://user:" + pw + "@h1:5672,amqp://user:" + pw + "@h2:5672",
			"postgres://u:" + pw + "@host/db?sslmode=disable",
		}
		if !strings.ContainsAny(pw, " \t\n\r\f\v&;#=\"'") {
			// A query value cannot hold these raw: "password=a b=c" is
			// two pairs.
			forms = append(forms, "https://host/x?sslmode=disable&password="+pw)
		}
		if !strings.Contains("user:"+pw, "://") {
			forms = append(forms, "user:"+pw+"@host:5672")
		}
		for _, form := range forms {
			got := redact.Value(form)
			_ = redact.String("dial " + form + ": refused") // must not panic
			for _, piece := range strings.FieldsFunc(pw, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
			}) {
				if len(piece) < 4 || strings.Contains(strings.ReplaceAll(form, pw, ""), piece) || strings.Contains(redact.Redacted, piece) {
					continue // too short to tell, or part of the form itself
				}
				if strings.Contains(got, piece) {
					t.Fatalf("Value(%q) = %q: %q survives", form, got, piece)
				}
			}
		}
	})
}

// Hostile input costs linear time: each of these took seconds at 200 KB
// when a hidden value was scanned again for every pair inside it.
func TestLinear(t *testing.T) {
	if raceEnabled {
		t.Skip("timing is meaningless under the race detector")
	}
	for _, unit := range []string{`password="`, `"password":`, "password=a b", "amqp://u:p ", "a:b@h,", "x://a:b@", "u:p w@h ", "password: x\n", "{password: a, ", "- token: "} {
		s := strings.Repeat(unit, 20000)
		start := time.Now()
		redact.Value(s)
		redact.String(s)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%q × 20000: %v", unit, d)
		}
	}
}
