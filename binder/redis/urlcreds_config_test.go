package redis

import (
	"slices"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestURLCredentialsOverKeys: a url with user info and username/password
// keys both set. Within one source the url's user and password win, as its
// host and port win over address (and as Spring Boot's
// spring.data.redis.url overrides username and password), so that
// STREAM_REDIS_BINDER_URL with rotated credentials overrides the file's
// password; a WARN line names the keys ignored. Keys of a later source
// (the binder's environment) still win over the url of an earlier one.
// Before, the keys won wherever they were set, silently: the variable's
// new password was never sent and the login failed with WRONGPASS.
func TestURLCredentialsOverKeys(t *testing.T) {
	const file = envBase + `      redis:
        binder:
          address: 10.0.0.2:6391
          username: app
          password: old-pass
`
	st, err := envSettings(t, file, "STREAM_REDIS_BINDER_URL=redis://app2:new-pass@10.0.0.1:6390")
	if err != nil || st.addr != "10.0.0.1:6390" || st.username != "app2" || st.password != "new-pass" {
		t.Errorf("STREAM_REDIS_BINDER_URL over the file's keys: addr %q user %q password %q, %v; want the variable's", st.addr, st.username, st.password, err)
	}
	for _, want := range [][2]string{
		{"stream.redis.binder.username", "stream.redis.binder.url"},
		{"stream.redis.binder.password", "stream.redis.binder.url"},
	} {
		if !slices.Contains(st.ignored, want) {
			t.Errorf("ignored %q, want %q (for a WARN line)", st.ignored, want)
		}
	}

	for _, tc := range []struct {
		name               string
		binder, env        map[string]any
		wantUser, wantPass string
		wantIgnored        [][2]string
	}{
		{"url without user info: the keys", map[string]any{"url": "redis://h:1", "username": "u", "password": "p"}, nil, "u", "p", nil},
		{"same keys as the url: no line", map[string]any{"url": "redis://u:p@h:1", "username": "u", "password": "p"}, nil, "u", "p", nil},
		{"environment password over binder url", map[string]any{"url": "redis://u:p@h:1"}, map[string]any{"password": "p2"}, "u", "p2",
			[][2]string{{"stream.redis.binder.url (its password)", "stream.binders.r.environment.password"}}},
		{"environment url over binder keys", map[string]any{"username": "u", "password": "p"}, map[string]any{"url": "redis://:p3@h:1"}, "", "p3",
			[][2]string{{"stream.redis.binder.username", "stream.binders.r.environment.url"}, {"stream.redis.binder.password", "stream.binders.r.environment.url"}}},
	} {
		st, err := parseSettings(stream.BinderSettings{Name: "r", Type: Type, Binder: tc.binder, Environment: tc.env})
		if err != nil || st.username != tc.wantUser || st.password != tc.wantPass || !slices.Equal(st.ignored, tc.wantIgnored) {
			t.Errorf("%s: user %q password %q ignored %q, %v; want %q %q %q", tc.name, st.username, st.password, st.ignored, err, tc.wantUser, tc.wantPass, tc.wantIgnored)
		}
	}
}
