package management_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/internal/syncbuf"
	"github.com/streambind/streambind/management"
	"github.com/streambind/streambind/stream"
	"github.com/streambind/streambind/topology"
)

// TestWarnsWhenListeningBeyondLoopback: management.server.port alone
// (MANAGEMENT_SERVER_PORT, as in Spring Boot) listens on every interface,
// and every endpoint is served, the unauthenticated state changes
// included; the server said nothing about it (found by the observability
// trial). It warns now; on loopback it does not.
func TestWarnsWhenListeningBeyondLoopback(t *testing.T) {
	app := sinkApp(t)
	for _, tc := range []struct {
		addr string
		warn bool
	}{{"127.0.0.1:0", false}, {"[::1]:0", false}, {":0", true}, {"0.0.0.0:0", true}} {
		var buf syncbuf.Buffer
		srv := management.New(app, management.Options{Config: management.Config{Address: tc.addr}, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
		if err := srv.Start(); err != nil {
			if strings.Contains(tc.addr, "::1") {
				continue // no IPv6 loopback here
			}
			t.Fatal(err)
		}
		_ = srv.Shutdown(context.Background())
		if got := strings.Contains(buf.String(), "level=WARN msg=\"management server listens beyond loopback"); got != tc.warn {
			t.Errorf("%s: warned %v, want %v\nlog:\n%s", tc.addr, got, tc.warn, buf.String())
		}
	}
}

// TestTopologyShowsProfiles: GET /actuator/topology shows the active
// profiles the server is given; it always showed none (found by the
// examples trial).
func TestTopologyShowsProfiles(t *testing.T) {
	app := sinkApp(t)
	srv := management.New(app, management.Options{Config: management.Config{Address: "127.0.0.1:0"}, Profiles: []string{"kafka", "prod"}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	var m topology.Model
	getJSON(t, "http://"+srv.Addr()+"/actuator/topology", &m)
	if len(m.Services) != 1 || !slices.Equal(m.Services[0].Profiles, []string{"kafka", "prod"}) {
		t.Fatalf("services %+v, want profiles [kafka prod]", m.Services)
	}
}

// TestIdleConnectionsDoNotBlockProbes: clients that keep idle keep-alive
// connections up to max-connections do not keep a probe waiting: at the
// limit, a connection that goes idle is closed. A probe waited until the
// idle connections' idle-timeout (found by the observability trial: 70
// idle connections, liveness in 29.5 s).
func TestIdleConnectionsDoNotBlockProbes(t *testing.T) {
	app := sinkApp(t)
	const max = 4
	srv := management.New(app, management.Options{Config: management.Config{Address: "127.0.0.1:0", MaxConnections: max, IdleTimeout: time.Minute}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	url := "http://" + srv.Addr() + "/health/liveness"
	get := func(c *http.Client) error {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	// max clients, each with a keep-alive connection of its own, idle.
	var pool []*http.Client
	for range max {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 5 * time.Second}
		defer c.CloseIdleConnections()
		if err := get(c); err != nil {
			t.Fatal(err)
		}
		pool = append(pool, c)
	}
	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 3 * time.Second}
	for i := range 3 {
		if err := get(probe); err != nil {
			t.Fatalf("probe %d with %d idle connections open: %v", i+1, max, err)
		}
	}
	// The pool's clients still get answers (on a new connection if theirs
	// was closed).
	for i, c := range pool {
		if err := get(c); err != nil {
			t.Errorf("pooled client %d: %v", i, err)
		}
	}
}

// sinkApp is an app of one consumer on the in-process binder, not run.
func sinkApp(t *testing.T) *stream.App {
	t.Helper()
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "sink"},
		Bindings: map[string]stream.BindingConfig{"sink-in-0": {Destination: "d", Group: "g"}}}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return app
}
