package rabbit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// TestAddressWithUserInfoNotShown: Spring Boot accepts
// spring.rabbitmq.addresses entries of the form user:pass@host:port. The
// password of such an entry must not show in the bind error, in Health
// (which readiness serves) or in the log. (Before the fix the entry was
// put into a URL's host, which did not parse, and amqp091-go's parse error
// quoted it everywhere.)
func TestAddressWithUserInfoNotShown(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	log := newLockedLogger(&buf, &mu)
	b, err := New(context.Background(), stream.BinderSettings{Name: "r", Type: Type,
		Environment: map[string]any{"addresses": "u:S3CRET@127.0.0.1:1"}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = b.BindProducer(ctx, stream.ProducerSpec{Binding: "x-out-0", Destination: "x"})
	if !errors.Is(err, stream.ErrUnavailable) || !strings.Contains(err.Error(), "u:"+redact.Redacted+"@127.0.0.1:1") {
		t.Errorf("bind to a closed port: %v, want unavailable, naming the address with the password hidden", err)
	}
	herr := b.(stream.HealthChecker).Health(context.Background())
	mu.Lock()
	logs := buf.String()
	mu.Unlock()
	for what, s := range map[string]string{"bind error": errString(err), "health (readiness applies redact.String)": redact.String(errString(herr)), "log": logs} {
		if strings.Contains(s, "S3CRET") {
			t.Errorf("password in %s: %s", what, s)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestParseAddresses: the forms of an addresses entry Spring Boot accepts,
// and what an entry leaves out coming from the first entry, then from the
// binder's settings.
func TestParseAddresses(t *testing.T) {
	ep := func(hp string, tls bool, user, pass, vhost string) endpoint {
		return endpoint{hostPort: hp, tls: tls, username: user, password: pass, vhost: vhost}
	}
	for _, tc := range []struct {
		env  map[string]any
		want []endpoint
	}{
		{map[string]any{}, []endpoint{ep("127.0.0.1:5672", false, "guest", "guest", "/")}},
		{map[string]any{"addresses": "h1,h2:5673", "username": "u", "password": "p", "virtual-host": "v"},
			[]endpoint{ep("h1:5672", false, "u", "p", "v"), ep("h2:5673", false, "u", "p", "v")}},
		{map[string]any{"addresses": "shop:S3CRET@h1:5672"}, []endpoint{ep("h1:5672", false, "shop", "S3CRET", "/")}},
		// The user info ends at the last '@': a password may hold '@', ':' and '/'.
		{map[string]any{"addresses": "shop:p@s:s/w@h1"}, []endpoint{ep("h1:5672", false, "shop", "p@s:s/w", "/")}},
		// A user without a password takes the password setting.
		{map[string]any{"addresses": "shop@h1", "password": "pw"}, []endpoint{ep("h1:5672", false, "shop", "pw", "/")}},
		{map[string]any{"addresses": "amqps://shop:pw@h1/orders"}, []endpoint{ep("h1:5671", true, "shop", "pw", "orders")}},
		{map[string]any{"addresses": "amqp://h1:5000/", "tls": true}, []endpoint{ep("h1:5000", false, "guest", "guest", "/")}},
		{map[string]any{"addresses": "h1", "tls": true}, []endpoint{ep("h1:5671", true, "guest", "guest", "/")}},
		{map[string]any{"addresses": "[::1],[::1]:5673,::1"},
			[]endpoint{ep("[::1]:5672", false, "guest", "guest", "/"), ep("[::1]:5673", false, "guest", "guest", "/"), ep("[::1]:5672", false, "guest", "guest", "/")}},
		// As in Spring Boot, the first entry's user info, virtual host and
		// scheme apply to the entries that give none.
		{map[string]any{"addresses": "amqps://a:pa@h1/v1, h2, b:pb@h3/v3, amqp://h4", "username": "u", "password": "p"},
			[]endpoint{ep("h1:5671", true, "a", "pa", "v1"), ep("h2:5671", true, "a", "pa", "v1"), ep("h3:5671", true, "b", "pb", "v3"), ep("h4:5672", false, "a", "pa", "v1")}},
		{map[string]any{"uri": "amqps://a:p%40ss@h1:5000/v%2F1"}, []endpoint{ep("h1:5000", true, "a", "p@ss", "v/1")}},
	} {
		s, err := parseSettings(stream.BinderSettings{Name: "r", Type: Type, Environment: tc.env})
		if err != nil {
			t.Errorf("%v: %v", tc.env, err)
			continue
		}
		if !reflect.DeepEqual(s.endpoints, tc.want) {
			t.Errorf("%v:\n got %+v\nwant %+v", tc.env, s.endpoints, tc.want)
		}
		for i := range s.endpoints {
			if r := s.redacted(i); strings.Contains(r, "S3CRET") || strings.Contains(r, "pw") && !strings.Contains(r, redact.Redacted) {
				t.Errorf("redacted: %s", r)
			}
		}
	}
	for _, bad := range []string{"u:S3CRET@h:S3CRETport", "ftp://u:S3CRET@h", ":S3CRET@h", "u:S3CRET@", "u:S3CRET@/vh", "u:S3CRET@h ost", "u:S3CRET@[h:5672"} {
		_, err := parseSettings(stream.BinderSettings{Name: "r", Type: Type, Environment: map[string]any{"addresses": "ok," + bad}})
		if err == nil || strings.Contains(err.Error(), "S3CRET") || !strings.Contains(err.Error(), "addresses") || !strings.Contains(err.Error(), "entry 2") {
			t.Errorf("addresses %q: %v, want an error naming entry 2 of addresses without the password", bad, err)
		}
	}
}

// TestRedactErrNeverPassesParseErrors: a URL parse error quotes the URL,
// user info and all; redactErr replaces it with a generic message.
func TestRedactErrNeverPassesParseErrors(t *testing.T) {
	_, perr := url.Parse(fmt.Sprintf("amqp://u:S3CRET%s@h/", "%zz")) // a bad escape in the password
	_, aerr := amqp.ParseURI("amqp://u:S3CRET@h:port/")
	for _, err := range []error{perr, aerr, fmt.Errorf("dial: %w", perr)} {
		if err == nil {
			t.Fatal("no parse error to test with")
		}
		if msg := redactErr(err, endpoint{password: "other"}); strings.Contains(msg, "S3CRET") || !strings.Contains(msg, "addresses") {
			t.Errorf("redactErr(%v) = %q", err, msg)
		}
	}
}

// TestAddressCredentialsUsed: the user info and virtual host of an
// addresses entry are what the binder logs in with, over the username,
// password and virtual-host settings.
func TestAddressCredentialsUsed(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	for _, addr := range []string{
		"guest:guest@" + rabbittest.Address() + "/" + vhost,
		"amqp://guest:guest@" + rabbittest.Address() + "/" + vhost,
	} {
		_, tr := newTestBinder(t, map[string]any{"addresses": addr, "password": "wrong", "virtual-host": "/", "connection-timeout": "2s"})
		dest := uniqueDest(t, "addrcreds")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := tr.BindProducer(ctx, stream.ProducerSpec{Binding: "a-out-0", Destination: dest}); err != nil {
			cancel()
			t.Fatalf("%s: %v", strings.ReplaceAll(addr, "guest:guest", "guest:"+redact.Redacted), err)
		}
		cancel()
		conn, err := amqp.Dial(rabbittest.VHostURL(vhost))
		if err != nil {
			t.Fatal(err)
		}
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		if err := ch.ExchangeDeclarePassive(dest, "topic", true, false, false, false, nil); err != nil {
			t.Errorf("the exchange is not in the entry's virtual host: %v", err)
		}
		conn.Close()
	}
}

// TestEndpointsExported: Endpoints resolves settings as the binder does.
func TestEndpointsExported(t *testing.T) {
	eps, err := Endpoints(stream.BinderSettings{Name: "r", Type: Type, Environment: map[string]any{"addresses": "amqps://shop:pw@h1/orders,h2:5000"}})
	want := []Endpoint{{"h1:5671", true, "shop", "pw", "orders"}, {"h2:5000", true, "shop", "pw", "orders"}}
	if err != nil || !reflect.DeepEqual(eps, want) {
		t.Fatalf("Endpoints: %+v, %v; want %+v", eps, err, want)
	}
	if _, err := Endpoints(stream.BinderSettings{Name: "r", Type: Type, Environment: map[string]any{"addresses": "u:S3CRET@h:x"}}); err == nil || strings.Contains(err.Error(), "S3CRET") {
		t.Fatalf("bad entry: %v", err)
	}
}
