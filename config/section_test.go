package config

import (
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

type testDB struct {
	URL      string `mapstructure:"url"`
	Password string
	MaxConns int `mapstructure:"max-conns"`
	Timeout  time.Duration
	Port     uint16
	Ratio    float32
	TLS      *bool `mapstructure:"tls"`
	Level    slog.Level
	Addr     netip.Addr
	Small    int8
}

type testServer struct {
	Host string
	Port int
}

type testTenant struct {
	URL string `mapstructure:"url"`
}

type testCommon struct {
	Team string
}

type testApp struct {
	testCommon
	Name    string
	DB      testDB `mapstructure:"db"`
	Hosts   []string
	Ports   []int
	Servers []testServer
	Tenants map[string]testTenant
	Labels  map[string]string
	Extra   map[string]any
	Retry   *struct{ Max int }
	Any     any
	Skipped string `mapstructure:"-"`
	hidden  string
}

const appYAML = `
myapp:
  name: shop
  team: payments
  db:
    url: "jdbc:${DB_HOST:localhost}/shop"
    maxConns: 010
    timeout: 250
    port: 5432
    ratio: 0.5
    tls: "true"
    level: warn
    addr: 10.0.0.1
  hosts: "a, b"
  ports: [1, "2"]
  servers: [ { host: h1, port: 1 } ]
  tenants:
    acme-corp: { url: "http://acme" }
  labels: { tier: gold }
  extra: { anything: [1, { x: y }] }
  retry: { max: 3 }
  any: 7
`

func loadApp(t *testing.T, yaml string, env ...string) *Loaded {
	t.Helper()
	if env == nil {
		env = []string{}
	}
	return mustLoad(t, Options{Data: []byte(yaml), Env: env})
}

func TestDecode(t *testing.T) {
	l := loadApp(t, appYAML)
	cfg := testApp{Name: "default", hidden: "h", Skipped: "s", DB: testDB{Password: "keep"}}
	if err := l.Decode("myapp", &cfg); err != nil {
		t.Fatal(err)
	}
	yes := true
	want := testApp{
		testCommon: testCommon{Team: "payments"},
		Name:       "shop",
		DB: testDB{URL: "jdbc:localhost/shop", Password: "keep", MaxConns: 10, Timeout: 250 * time.Millisecond, Port: 5432,
			Ratio: 0.5, TLS: &yes, Level: slog.LevelWarn, Addr: netip.MustParseAddr("10.0.0.1")},
		Hosts:   []string{"a", "b"},
		Ports:   []int{1, 2},
		Servers: []testServer{{"h1", 1}},
		Tenants: map[string]testTenant{"acme-corp": {"http://acme"}},
		Labels:  map[string]string{"tier": "gold"},
		Extra:   map[string]any{"anything": []any{1, map[string]any{"x": "y"}}},
		Retry:   &struct{ Max int }{3},
		Any:     7,
		Skipped: "s",
		hidden:  "h",
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}

	var db testDB
	if err := l.Decode("myApp.DB", &db); err != nil || db.Port != 5432 {
		t.Errorf("a part of a section: %+v, %v", db, err)
	}
	before := cfg
	if err := l.Decode("other", &cfg); err != nil || !reflect.DeepEqual(cfg, before) {
		t.Errorf("an absent section must leave v as it is: %v", err)
	}
}

// Environment variables override the section's keys, including fields no
// file sets, with the variable as origin of any problem.
func TestDecodeEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   []string
		check func(c testApp) any
		want  any
	}{
		{"key in the files", []string{"MYAPP_DB_URL=jdbc:prod"}, func(c testApp) any { return c.DB.URL }, "jdbc:prod"},
		{"field no file sets", []string{"MYAPP_DB_PASSWORD=s3cret"}, func(c testApp) any { return c.DB.Password }, "s3cret"},
		{"camelCase key, both spellings", []string{"MYAPP_DB_MAX_CONNS=7"}, func(c testApp) any { return c.DB.MaxConns }, 7},
		{"squashed", []string{"MYAPP_DB_MAXCONNS=8"}, func(c testApp) any { return c.DB.MaxConns }, 8},
		{"leading zero", []string{"MYAPP_DB_MAXCONNS=011"}, func(c testApp) any { return c.DB.MaxConns }, 11},
		{"duration", []string{"MYAPP_DB_TIMEOUT=2s"}, func(c testApp) any { return c.DB.Timeout }, 2 * time.Second},
		{"embedded struct", []string{"MYAPP_TEAM=ops"}, func(c testApp) any { return c.Team }, "ops"},
		{"placeholder", []string{"MYAPP_DB_PASSWORD=${PW:fallback}"}, func(c testApp) any { return c.DB.Password }, "fallback"},
		{"list items", []string{"MYAPP_HOSTS_0=x", "MYAPP_HOSTS_1_=y"}, func(c testApp) any { return c.Hosts }, []string{"x", "y"}},
		{"whole list", []string{"MYAPP_PORTS=7,8"}, func(c testApp) any { return c.Ports }, []int{7, 8}},
		{"list of structs", []string{"MYAPP_SERVERS[0]_HOST=h9", "MYAPP_SERVERS_1_PORT=2"}, func(c testApp) any { return c.Servers }, []testServer{{"h9", 0}, {"", 2}}},
		{"known name with '-'", []string{"MYAPP_TENANTS_ACME_CORP_URL=http://b"}, func(c testApp) any { return c.Tenants["acme-corp"].URL }, "http://b"},
		{"new name", []string{"MYAPP_TENANTS_GLOBEX_URL=http://g"}, func(c testApp) any { return c.Tenants["globex"].URL }, "http://g"},
		{"map of strings, new key", []string{"MYAPP_LABELS_COST_CENTER=42"}, func(c testApp) any { return c.Labels["cost-center"] }, "42"},
		{"pointer to a struct no file sets", []string{"MYAPP_RETRY_MAX=5"}, func(c testApp) any { return c.Retry.Max }, 5},
		{"no such field: ignored", []string{"MYAPP_DB_USER=u", "MYAPP_COLOUR=red"}, func(c testApp) any { return c.DB.URL }, "jdbc:localhost/shop"},
		{"stream variables are not ours", []string{"STREAM_DEFAULT_BINDER=kafka"}, func(c testApp) any { return c.Name }, "shop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := loadApp(t, appYAML, tc.env...)
			var cfg testApp
			if err := l.Decode("myapp", &cfg); err != nil {
				t.Fatal(err)
			}
			if got := tc.check(cfg); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}

	// A section no file has at all.
	l := loadApp(t, "", "OTHERAPP_NAME=x", "OTHERAPP_SERVERS_0_HOST=h")
	var cfg testApp
	if err := l.Decode("otherapp", &cfg); err != nil || cfg.Name != "x" || len(cfg.Servers) != 1 {
		t.Errorf("section only in the environment: %+v, %v", cfg, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	type problem struct{ path, origin, msg string }
	for _, tc := range []struct {
		name, yaml string
		env        []string
		want       []problem
	}{
		{"unknown key", "myapp:\n  db:\n    urll: x\n", nil,
			[]problem{{"myapp.db.urll", "application.yaml:3", "unknown key; did you mean url?"}}},
		{"unknown key, no suggestion", "myapp:\n  colour: red\n", nil,
			[]problem{{"myapp.colour", "application.yaml:2", "unknown key (known keys: any, db, extra, hosts, labels, name, ports, retry, servers, team, tenants)"}}},
		{"not an integer", "myapp:\n  db: { max-conns: five }\n", nil,
			[]problem{{"myapp.db.max-conns", "application.yaml:2", `expected an integer, got "five"`}}},
		{"not an integer, from env", "myapp: { name: x }\n", []string{"MYAPP_DB_MAXCONNS=lots"},
			[]problem{{"myapp.db.max-conns", "env MYAPP_DB_MAXCONNS", `expected an integer, got "lots"`}}},
		{"out of range", "myapp:\n  db: { port: 70000, small: 128 }\n", nil,
			[]problem{{"myapp.db.port", "application.yaml:2", "70000 is out of range for uint16"}, {"myapp.db.small", "application.yaml:2", "128 is out of range for int8"}}},
		{"negative unsigned", "myapp:\n  db:\n    port: -1\n", nil,
			[]problem{{"myapp.db.port", "application.yaml:3", "must not be negative"}}},
		{"bad duration", "myapp:\n  db:\n    timeout: soon\n", nil,
			[]problem{{"myapp.db.timeout", "application.yaml:3", "expected a duration"}}},
		{"bad bool", "myapp:\n  db:\n    tls: yes please\n", nil,
			[]problem{{"myapp.db.tls", "application.yaml:3", "expected true or false"}}},
		{"bad text value", "myapp:\n  db:\n    level: loud\n", nil,
			[]problem{{"myapp.db.level", "application.yaml:3", `invalid value "loud"`}}},
		{"not a whole number", "myapp:\n  db:\n    max-conns: 1.5\n", nil,
			[]problem{{"myapp.db.max-conns", "application.yaml:3", "not a whole number"}}},
		{"a value for a struct", "myapp:\n  db: x\n", nil,
			[]problem{{"myapp.db", "application.yaml:2", "expected a map of keys (addr, level, max-conns, password, port, ratio, small, timeout, tls, url), got \"x\""}}},
		{"a map for a list", "myapp:\n  servers: { a: 1 }\n", nil,
			[]problem{{"myapp.servers", "application.yaml:2", "expected a list, got a map"}}},
		{"list item", "myapp:\n  ports:\n    - 1\n    - x\n", nil,
			[]problem{{"myapp.ports[1]", "application.yaml:4", `expected an integer, got "x"`}}},
		{"set twice", "myapp:\n  db:\n    maxConns: 1\n    max-conns: 2\n", nil,
			[]problem{{"myapp.db.maxconns", "application.yaml:3", "max-conns is set twice (also as max-conns at application.yaml:4)"}}},
		{"unset placeholder in a variable", "", []string{"MYAPP_DB_URL=${NOPE}"},
			[]problem{{"myapp.db.url", "env MYAPP_DB_URL", "environment variable NOPE is not set"}}},
		// A secret's value: nothing of it shown, names included.
		{"unset placeholder in a secret variable", "", []string{"MYAPP_DB_PASSWORD=${NOPE}"},
			[]problem{{"myapp.db.password", "env MYAPP_DB_PASSWORD", "the value of environment variable MYAPP_DB_PASSWORD (a secret, not shown) has a placeholder that cannot be resolved"}}},
		{"gap in list items", "", []string{"MYAPP_HOSTS_1=x"},
			[]problem{{"myapp.hosts", "env MYAPP_HOSTS_1", "sets item 1, but no variable sets item 0"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Load(Options{Data: []byte(tc.yaml), Env: tc.env})
			if err != nil && !strings.Contains(tc.name, "gap") {
				t.Fatal(err)
			}
			var cfg testApp
			err = l.Decode("myapp", &cfg)
			var es stream.ConfigErrors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not stream.ConfigErrors: %v", err, err)
			}
			if len(es) != len(tc.want) {
				t.Fatalf("got %v\nwant %v", es, tc.want)
			}
			for i, w := range tc.want {
				if es[i].Path != w.path || es[i].Origin != w.origin || !strings.Contains(es[i].Msg, w.msg) {
					t.Errorf("problem %d: got %s (%s): %s\nwant %s (%s): %s", i, es[i].Path, es[i].Origin, es[i].Msg, w.path, w.origin, w.msg)
				}
			}
		})
	}
}

func TestDecodeMisuse(t *testing.T) {
	l := loadApp(t, appYAML)
	var cfg testApp
	for _, tc := range []struct {
		section string
		v       any
	}{
		{"myapp", cfg},
		{"myapp", nil},
		{"myapp", (*testApp)(nil)},
		{"stream", &cfg},
		{"spring.cloud.stream.bindings", &cfg},
		{"myapp..db", &cfg},
		{"", &cfg},
	} {
		err := l.Decode(tc.section, tc.v)
		var es stream.ConfigErrors
		if err == nil || errors.As(err, &es) {
			t.Errorf("Decode(%q, %T): want a plain error, got %v", tc.section, tc.v, err)
		}
	}
	var ch struct{ C chan int }
	l = loadApp(t, "myapp: { c: 1 }\n")
	if err := l.Decode("myapp", &ch); err == nil || !strings.Contains(err.Error(), "cannot decode into Go type chan int") {
		t.Errorf("unsupported type: %v", err)
	}
	// A Loaded built by hand (no environment) decodes too.
	hand := &Loaded{Raw: map[string]any{"myapp": map[string]any{"name": "n"}}}
	if err := hand.Decode("myapp", &cfg); err != nil || cfg.Name != "n" {
		t.Errorf("hand-made Loaded: %+v, %v", cfg, err)
	}
}
