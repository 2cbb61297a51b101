package config

import (
	"reflect"
	"strings"
	"testing"
)

// rawAt returns the value at a dotted path of the loaded tree ("a.b",
// "a.b[1].c"), and whether it is there.
func rawAt(raw map[string]any, path string) (any, bool) {
	var v any = raw
	for _, seg := range strings.Split(path, ".") {
		key, idx, hasIdx := strings.Cut(seg, "[")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[key]; !ok {
			return nil, false
		}
		if hasIdx {
			l, ok := v.([]any)
			n := 0
			for _, c := range strings.TrimSuffix(idx, "]") {
				n = n*10 + int(c-'0')
			}
			if !ok || n >= len(l) {
				return nil, false
			}
			v = l[n]
		}
	}
	return v, true
}

// Environment variables override keys of every root, not only stream: the
// keys the files declare and the framework's own keys, with Spring Boot's
// relaxed names.
func TestEnvOverridesOtherRoots(t *testing.T) {
	const base = `
myapp:
  db: { url: "jdbc:x", maxConns: 3, db-name: shop }
  hosts: [a, b, c]
  servers: [ { host: h1, port: 1 }, { host: h2, port: 2 } ]
  tenants:
    acme-corp: { url: "http://acme" }
  timeout: ~
my-app: { level: 1 }
home: /srv/app
http: { proxy: "p:1" }
management:
  server: { readHeaderTimeout: 1s }
spring:
  application: { name: shop }
  rabbitmq: { host: localhost }
`
	for _, tc := range []struct {
		name string
		env  []string
		path string // where the value must be, with "env <first variable>" as origin
		want any    // nil: path must be absent
	}{
		{"framework key absent from the files", []string{"MANAGEMENT_SERVER_ADDRESS=127.0.0.1:9000"}, "management.server.address", "127.0.0.1:9000"},
		{"logging key, root absent from the files", []string{"LOGGING_LEVEL=warn"}, "logging.level", "warn"},
		{"tracing key", []string{"MANAGEMENT_TRACING_SAMPLING_PROBABILITY=0.5"}, "management.tracing.sampling-probability", "0.5"},
		{"tracing key, squashed", []string{"MANAGEMENT_TRACING_SAMPLINGPROBABILITY=0.5"}, "management.tracing.sampling-probability", "0.5"},
		{"the files' spelling of a framework key", []string{"MANAGEMENT_SERVER_READ_HEADER_TIMEOUT=2s"}, "management.server.readheadertimeout", "2s"},
		{"app key", []string{"MYAPP_DB_URL=jdbc:y"}, "myapp.db.url", "jdbc:y"},
		{"app key with '-'", []string{"MYAPP_DB_DB_NAME=crm"}, "myapp.db.db-name", "crm"},
		{"app key with '-', squashed", []string{"MYAPP_DB_DBNAME=crm"}, "myapp.db.db-name", "crm"},
		{"camelCase key, dashes as '_'", []string{"MYAPP_DB_MAX_CONNS=9"}, "myapp.db.maxconns", "9"},
		{"camelCase key, squashed", []string{"MYAPP_DB_MAXCONNS=9"}, "myapp.db.maxconns", "9"},
		{"root with '-'", []string{"MY_APP_LEVEL=2"}, "my-app.level", "2"},
		{"root with '-', squashed", []string{"MYAPP_LEVEL=2"}, "my-app.level", "2"},
		{"name with '-'", []string{"MYAPP_TENANTS_ACME_CORP_URL=http://b"}, "myapp.tenants.acme-corp.url", "http://b"},
		{"null in the files", []string{"MYAPP_TIMEOUT=5s"}, "myapp.timeout", "5s"},
		{"spring namespace", []string{"SPRING_RABBITMQ_HOST=rabbit.internal"}, "spring.rabbitmq.host", "rabbit.internal"},
		{"spring.application.name", []string{"SPRING_APPLICATION_NAME=billing"}, "spring.application.name", "billing"},
		{"a root key of the files, even HOME", []string{"HOME=/root"}, "home", "/root"},
		{"whole list, comma-separated", []string{"MYAPP_HOSTS=x,y"}, "myapp.hosts", "x,y"},
		{"list item, Spring's NAME_0_", []string{"MYAPP_HOSTS_0_=z"}, "myapp.hosts", []any{"z"}},
		{"list item, NAME_0", []string{"MYAPP_HOSTS_0=z", "MYAPP_HOSTS_1=w"}, "myapp.hosts", []any{"z", "w"}},
		{"list item, NAME[0]", []string{"MYAPP_HOSTS[0]=z"}, "myapp.hosts[0]", "z"},
		{"list of maps", []string{"MYAPP_SERVERS[0]_HOST=h9", "MYAPP_SERVERS_0_PORT=9"}, "myapp.servers", []any{map[string]any{"host": "h9", "port": "9"}}},
		{"placeholder in the value", []string{"MYAPP_DB_URL=${DBHOST:db}:5432"}, "myapp.db.url", "db:5432"},
		{"no such key: ignored", []string{"MYAPP_DB_PASSWORD=pw"}, "myapp.db.password", nil},
		{"a section, not a key: ignored", []string{"MYAPP_DB=x"}, "myapp.db.url", "jdbc:x"},
		{"unknown root: ignored", []string{"PATH=/bin", "GOPATH=/go", "MYSERVICE_URL=x"}, "path", nil},
		{"lower-case variable: ignored", []string{"http_proxy=q:2"}, "http.proxy", "p:1"},
		{"past a value: ignored", []string{"MYAPP_DB_URL_X=1"}, "myapp.db.url", "jdbc:x"},
		{"Kubernetes service links: ignored", []string{"LOGGING_PORT=tcp://10.0.0.1:80", "LOGGING_SERVICE_HOST=10.0.0.1",
			"MANAGEMENT_SERVER_PORT=tcp://10.0.0.2:8081", "MANAGEMENT_SERVER_PORT_8081_TCP_ADDR=10.0.0.2", "MANAGEMENT_SERVER_SERVICE_PORT=8081"}, "management.server.port", nil},
		{"unrelated variables under framework roots: ignored", []string{"LOGGING_CONFIG=x", "MANAGEMENT_FOO=1", "LOGGING=1", "MANAGEMENT=1"}, "logging", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := mustLoad(t, Options{Data: []byte(base), Env: tc.env})
			got, ok := rawAt(l.Raw, tc.path)
			if tc.want == nil {
				if ok {
					t.Fatalf("%s = %#v, want it absent", tc.path, got)
				}
				return
			}
			if !ok || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("%s = %#v (present %v), want %#v", tc.path, got, ok, tc.want)
			}
			name, _, _ := strings.Cut(tc.env[0], "=")
			if o := l.Stream.Origins[tc.path]; o != "env "+name && !strings.HasPrefix(tc.name, "a section") && !strings.HasPrefix(tc.name, "lower-case") && !strings.HasPrefix(tc.name, "past") {
				t.Errorf("origin of %s = %q, want env %s", tc.path, o, name)
			}
		})
	}
}

// A variable replaces a list whole, as in Spring Boot: the files' items,
// and their origins, are gone.
func TestEnvListReplacesTheFilesList(t *testing.T) {
	l := mustLoad(t, Options{Data: []byte("myapp:\n  hosts: [a, b, c]\n  servers: [ { host: h1, port: 1 } ]\n"),
		Env: []string{"MYAPP_HOSTS_0=z", "MYAPP_SERVERS_0_HOST=h9"}})
	if got := l.Raw["myapp"].(map[string]any)["hosts"]; !reflect.DeepEqual(got, []any{"z"}) {
		t.Errorf("hosts = %#v", got)
	}
	if got := l.Raw["myapp"].(map[string]any)["servers"]; !reflect.DeepEqual(got, []any{map[string]any{"host": "h9"}}) {
		t.Errorf("servers = %#v", got)
	}
	for _, p := range []string{"myapp.hosts[1]", "myapp.hosts[2]", "myapp.servers[0].port"} {
		if o, ok := l.Stream.Origins[p]; ok {
			t.Errorf("origin of %s = %q, want none (the item is gone)", p, o)
		}
	}
	for p, want := range map[string]string{
		"myapp.hosts":           "env MYAPP_HOSTS_0",
		"myapp.hosts[0]":        "env MYAPP_HOSTS_0",
		"myapp.servers":         "env MYAPP_SERVERS_0_HOST",
		"myapp.servers[0]":      "env MYAPP_SERVERS_0_HOST",
		"myapp.servers[0].host": "env MYAPP_SERVERS_0_HOST",
		"myapp":                 "application.yaml:1",
	} {
		if got := l.Stream.Origins[p]; got != want {
			t.Errorf("origin of %s = %q, want %q", p, got, want)
		}
	}
}

// Lists of the stream section take items too.
func TestEnvStreamListItems(t *testing.T) {
	l := mustLoad(t, Options{Data: []byte("stream:\n  bindings:\n    x-out-0: { producer: { required-groups: [a, b, c] } }\n"),
		Env: []string{"STREAM_BINDINGS_X_OUT_0_PRODUCER_REQUIRED_GROUPS_0=p", "STREAM_BINDINGS_X_OUT_0_PRODUCER_REQUIRED_GROUPS_1_=q"}})
	if got := l.Stream.Binding("x-out-0").Producer.RequiredGroups; !reflect.DeepEqual(got, []string{"p", "q"}) {
		t.Errorf("required-groups = %q", got)
	}
	if o := l.Stream.Origins["stream.bindings.x-out-0.producer.required-groups[1]"]; o != "env STREAM_BINDINGS_X_OUT_0_PRODUCER_REQUIRED_GROUPS_1_" {
		t.Errorf("origin of item 1 = %q", o)
	}
	if _, ok := l.Stream.Origins["stream.bindings.x-out-0.producer.required-groups[2]"]; ok {
		t.Error("the files' item 2 keeps its origin")
	}
}

// Variables under the framework's roots that name no key are reported, at
// the nearest key, with the variable as origin; variables of other roots
// never are.
func TestEnvMisspeltFrameworkKeys(t *testing.T) {
	const base = "management:\n  server: { address: ':1' }\nmyapp:\n  hosts: [a]\n  db: { url: u }\n"
	for _, tc := range []struct {
		env       []string
		path, msg string
	}{
		// A did-you-mean at the key the variable spells, as the stream
		// section's (not the section holding it: logging).
		{[]string{"LOGGING_LEVL=debug"}, "logging.levl", "did you mean LOGGING_LEVEL?"},
		{[]string{"LOGGING_FORMATT=json"}, "logging.formatt", "did you mean LOGGING_FORMAT?"},
		{[]string{"MANAGEMENT_SERVER_ADRESS=:2"}, "management.server.adress", "did you mean MANAGEMENT_SERVER_ADDRESS?"},
		{[]string{"MANAGEMENT_SERVER_READ_HEADER_TIMOUT=1s"}, "management.server.read-header-timout", "did you mean MANAGEMENT_SERVER_READ_HEADER_TIMEOUT?"},
		{[]string{"MANAGEMENT_SERVE_ADDRESS=:2"}, "management.serve.address", "did you mean MANAGEMENT_SERVER_ADDRESS?"},
		{[]string{"MANAGEMENT_SERVER_PORTS=9000"}, "management.server", "matches no configuration key (expected the key path in upper case with '.' and '-' as '_', e.g. MANAGEMENT_SERVER_ADDRESS)"},
		// Spring Boot's key, read as the port of management.server.address.
		{[]string{"MANAGEMENT_SERVER_PORT=9000"}, "management.server.port", "port 9000 conflicts with management.server.address :1"},
		{[]string{"MANAGEMENT_TRACING=otlp"}, "management.tracing", "names the section management.tracing, not a key (expected e.g. MANAGEMENT_TRACING_ENDPOINT)"},
		{[]string{"LOGGING_FORMAT_JSON=true"}, "logging.format", "logging.format takes a value, not keys (set LOGGING_FORMAT)"},
		{[]string{"MANAGEMENT_SERVER_READHEADERTIMEOUT=1s", "MANAGEMENT_SERVER_READ_HEADER_TIMEOUT=2s"}, "management.server.read-header-timeout", "sets the same key as env MANAGEMENT_SERVER_READHEADERTIMEOUT"},
		{[]string{"MYAPP_HOSTS_1=x"}, "myapp.hosts", "sets item 1, but no variable sets item 0"},
		{[]string{"MYAPP_HOSTS=x", "MYAPP_HOSTS_0=y"}, "myapp.hosts[0]", "sets the same key as env MYAPP_HOSTS"},
	} {
		t.Run(tc.env[0], func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(base), Env: tc.env})
			last, _, _ := strings.Cut(tc.env[len(tc.env)-1], "=")
			if len(es) != 1 || es[0].Path != tc.path || !strings.Contains(es[0].Msg, tc.msg) {
				t.Fatalf("got %v\nwant one problem at %s: %s", es, tc.path, tc.msg)
			}
			if want := "env " + last; es[0].Origin != want && !strings.HasPrefix(tc.env[0], "MYAPP_HOSTS_1") {
				t.Errorf("origin %q, want %q", es[0].Origin, want)
			}
		})
	}
}

func TestRelaxedTokens(t *testing.T) {
	for name, want := range map[string][]string{
		"MYAPP_DB_URL":          {"MYAPP", "DB", "URL"},
		"MYAPP_HOSTS[0]":        {"MYAPP", "HOSTS", "0"},
		"MYAPP_SERVERS[10]_URL": {"MYAPP", "SERVERS", "10", "URL"},
		"MYAPP_HOSTS_0_":        {"MYAPP", "HOSTS", "0", ""},
		"http_proxy":            nil,
		"Path":                  nil,
		"_X":                    nil,
		"A[0":                   nil,
		"A[x]":                  nil,
		"A[0]B":                 nil,
		"A]0[":                  nil,
		"A[99999]":              nil,
	} {
		got, ok := relaxedTokens(name)
		if ok != (want != nil) || !reflect.DeepEqual(got, want) && want != nil {
			t.Errorf("relaxedTokens(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for toks, want := range map[string]int{
		"MAX ATTEMPTS X": 2, "MAXATTEMPTS": 1, "MAX ATT EMPTS": 3, "MAX  ATTEMPTS": 0, "MAXATTEMPT": 0, "MAXATTEMPTSX": 0,
	} {
		if got := consumed(strings.Split(toks, " "), "max-attempts"); got != want {
			t.Errorf("consumed(%q, max-attempts) = %d, want %d", toks, got, want)
		}
	}
}
