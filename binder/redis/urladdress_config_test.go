package redis

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestURLAndAddress: url and address both set. Within one source url wins
// (as Spring Boot's spring.data.redis.url overrides host and port), so
// that STREAM_REDIS_BINDER_URL overrides the file's address; the binder's
// environment section wins over stream.redis.binder whichever it sets.
// Before, every case failed with "stream.binders.redis.environment.url:
// set either url or address, not both" — a key nobody set, so the app
// showed the origin of its nearest parent (application.yaml:1).
func TestURLAndAddress(t *testing.T) {
	const file = envBase + `      redis:
        binder:
          url: redis://10.0.0.1:6390/2
          address: 10.0.0.2:6391
`
	st, err := envSettings(t, file)
	if err != nil || st.addr != "10.0.0.1:6390" || st.db != 2 {
		t.Errorf("url and address in one file: addr %q db %d, %v; want the url's", st.addr, st.db, err)
	}
	if len(st.ignored) != 1 || st.ignored[0] != [2]string{"stream.redis.binder.address", "stream.redis.binder.url"} {
		t.Errorf("ignored %q, want the address (for a WARN line naming both keys)", st.ignored)
	}

	const fileAddr = envBase + `      redis:
        binder:
          address: 10.0.0.2:6391
`
	st, err = envSettings(t, fileAddr, "STREAM_REDIS_BINDER_URL=redis://10.0.0.1:6390")
	if err != nil || st.addr != "10.0.0.1:6390" {
		t.Errorf("STREAM_REDIS_BINDER_URL over the file's address: addr %q, %v; want the variable's", st.addr, err)
	}

	// The environment section (a binder of its own) over the type-wide
	// section, whichever key each uses: its address replaces the url's
	// host and port, the url's db still applies.
	for _, tc := range []struct {
		name     string
		binder   map[string]any
		env      map[string]any
		wantAddr string
		wantDB   int
	}{
		{"environment address over binder url", map[string]any{"url": "redis://10.0.0.1:6390/3"}, map[string]any{"address": "10.0.0.2:6391"}, "10.0.0.2:6391", 3},
		{"environment url over binder address", map[string]any{"address": "10.0.0.2:6391"}, map[string]any{"url": "redis://10.0.0.1:6390"}, "10.0.0.1:6390", 0},
	} {
		st, err := parseSettings(stream.BinderSettings{Name: "r", Type: Type, Binder: tc.binder, Environment: tc.env})
		if err != nil || st.addr != tc.wantAddr || st.db != tc.wantDB {
			t.Errorf("%s: addr %q db %d, %v; want %s db %d", tc.name, st.addr, st.db, err, tc.wantAddr, tc.wantDB)
		}
	}
}

// TestRedissURLAndTLSDisabled: a rediss:// url with tls.enabled false is
// refused at the key that disables TLS, with its origin (file:line or the
// variable); before, the binder connected in plain text, silently.
func TestRedissURLAndTLSDisabled(t *testing.T) {
	const file = envBase + `      redis:
        binder:
          url: rediss://10.0.0.1:6390
          tls:
            enabled: false
`
	_, err := envSettings(t, file)
	want := "stream.redis.binder.tls.enabled (application.yaml:11): false, but url (stream.redis.binder.url) is rediss://"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v does not say %q", err, want)
	}
	const fileURL = envBase + `      redis:
        binder:
          url: rediss://10.0.0.1:6390
`
	_, err = envSettings(t, fileURL, "STREAM_REDIS_BINDER_TLS_ENABLED=false")
	want = "(env STREAM_REDIS_BINDER_TLS_ENABLED): false, but url"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v does not say %q", err, want)
	}
	// rediss:// alone, and with tls settings, is TLS.
	st, err := envSettings(t, fileURL, "STREAM_REDIS_BINDER_TLS_SERVER_NAME=redis.example")
	if err != nil || st.tls == nil || st.tls.ServerName != "redis.example" {
		t.Errorf("rediss:// with tls.server-name: tls %v, %v", st.tls, err)
	}
}
