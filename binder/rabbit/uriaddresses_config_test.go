package rabbit

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestURIAndAddresses: uri and addresses both set is no error (it was
// "set uri or addresses, not both" at stream.binders.<name>.environment, a
// key nobody set, also when an environment variable's uri was meant to
// override a file's addresses): within one source uri wins, as Redis's url
// over its address; the binder's environment section wins over
// stream.rabbit.binder whichever it sets, its addresses taking the uri's
// credentials, virtual host and TLS. A WARN names the key ignored.
func TestURIAndAddresses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		binder    map[string]any
		env       map[string]any
		want      endpoint
		ignored   string
		wantCount int
	}{
		{name: "one source: uri wins (STREAM_RABBIT_BINDER_URI over a file's addresses)",
			binder:  map[string]any{"addresses": "a1:5672,a2:5672", "uri": "amqp://u:p@u1:5673/v"},
			want:    endpoint{hostPort: "u1:5673", username: "u", password: "p", vhost: "v"},
			ignored: "stream.rabbit.binder.addresses", wantCount: 1},
		{name: "environment's uri over the binder section's addresses",
			binder:  map[string]any{"addresses": "a1:5672"},
			env:     map[string]any{"uri": "amqp://u:p@u1:5673/v"},
			want:    endpoint{hostPort: "u1:5673", username: "u", password: "p", vhost: "v"},
			ignored: "stream.rabbit.binder.addresses", wantCount: 1},
		{name: "environment's addresses over the binder section's uri",
			binder:  map[string]any{"uri": "amqps://u:p@u1:5673/v"},
			env:     map[string]any{"addresses": "a1:5671,a2:5671"},
			want:    endpoint{hostPort: "a1:5671", tls: true, username: "u", password: "p", vhost: "v"},
			ignored: "stream.rabbit.binder.uri (its host and port)", wantCount: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			var mu sync.Mutex
			bs := stream.BinderSettings{Name: "r", Type: Type, Binder: tc.binder, Environment: tc.env, Logger: newLockedLogger(&buf, &mu)}
			s, err := parseSettings(bs)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.endpoints) != tc.wantCount || s.endpoints[0] != tc.want {
				t.Errorf("endpoints %+v, want %d, the first %+v", s.endpoints, tc.wantCount, tc.want)
			}
			b, err := New(context.Background(), bs)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close(context.Background())
			mu.Lock()
			logs := buf.String()
			mu.Unlock()
			if !strings.Contains(logs, "setting ignored") || !strings.Contains(logs, tc.ignored) {
				t.Errorf("log %q, want a WARN naming %s", logs, tc.ignored)
			}
		})
	}
}
