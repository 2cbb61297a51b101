package management_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

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
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "sink"},
		Bindings: map[string]stream.BindingConfig{"sink-in-0": {Destination: "d", Group: "g"}}}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
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
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "sink", func(context.Context, string) error { return nil })
	cfg := &stream.Config{Function: stream.FunctionConfig{Definition: "sink"},
		Bindings: map[string]stream.BindingConfig{"sink-in-0": {Destination: "d", Group: "g"}}}
	app, err := stream.NewApp(cfg, fns, stream.WithBinderType(memory.Type, memory.New), stream.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
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
