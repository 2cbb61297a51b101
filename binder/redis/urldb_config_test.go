package redis

import (
	"slices"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestURLDatabaseOverKey: a url naming a database (redis://h:1/2) and the
// db key both set. As for the credentials (TestURLCredentialsOverKeys),
// within one source the url's database wins, as Spring Boot's
// spring.data.redis.url overrides database, with a WARN line naming the
// key ignored; a later source's key wins over an earlier url. Before, any
// db other than 0 won silently: STREAM_REDIS_BINDER_URL=redis://…/3 kept
// the file's database.
func TestURLDatabaseOverKey(t *testing.T) {
	for _, tc := range []struct {
		name        string
		binder, env map[string]any
		wantDB      int
		wantIgnored [][2]string
	}{
		{"url without database: the key", map[string]any{"url": "redis://h:1", "db": 5}, nil, 5, nil},
		{"url with a query but no database: the key", map[string]any{"url": "redis://h:1?protocol=3", "db": 5}, nil, 5, nil},
		{"same database: no line", map[string]any{"url": "redis://h:1/5", "db": 5}, nil, 5, nil},
		{"url's database over the key", map[string]any{"url": "redis://u:p@h:1/2", "db": 5}, nil, 2,
			[][2]string{{"stream.redis.binder.db", "stream.redis.binder.url"}}},
		{"url's database 0 over the key", map[string]any{"url": "redis://h:1/0", "database": 5}, nil, 0,
			[][2]string{{"stream.redis.binder.database", "stream.redis.binder.url"}}},
		{"environment db over binder url", map[string]any{"url": "redis://h:1/2"}, map[string]any{"db": 7}, 7,
			[][2]string{{"stream.redis.binder.url (its database)", "stream.binders.r.environment.db"}}},
		{"environment url over binder db", map[string]any{"db": 7}, map[string]any{"url": "redis://h:1/3"}, 3,
			[][2]string{{"stream.redis.binder.db", "stream.binders.r.environment.url"}}},
		{"url's database without the key", map[string]any{"url": "redis://h:1/4"}, nil, 4, nil},
		{"url's db parameter without the key", map[string]any{"url": "redis://h:1?db=3"}, nil, 3, nil},
		{"url's db parameter over the key", map[string]any{"url": "redis://h:1/?db=3", "db": 5}, nil, 3,
			[][2]string{{"stream.redis.binder.db", "stream.redis.binder.url"}}},
	} {
		st, err := parseSettings(stream.BinderSettings{Name: "r", Type: Type, Binder: tc.binder, Environment: tc.env})
		if err != nil || st.db != tc.wantDB || !slices.Equal(st.ignored, tc.wantIgnored) {
			t.Errorf("%s: db %d ignored %q, %v; want %d %q", tc.name, st.db, st.ignored, err, tc.wantDB, tc.wantIgnored)
		}
	}
}

// TestPortOutOfRange: a port above 65535 (or 0, or not a number) in url
// or address is a configuration error naming the key; it passed
// validation and was retried as an unreachable server (security trial).
func TestPortOutOfRange(t *testing.T) {
	for _, b := range []map[string]any{
		{"url": "redis://h:99999"},
		{"url": "rediss://u:secret-pw@h:0/1"},
		{"address": "h:99999"},
		{"address": "h:65536"},
	} {
		_, err := parseSettings(stream.BinderSettings{Name: "r", Type: Type, Binder: b})
		if err == nil || !strings.Contains(err.Error(), "is not a port (1-65535)") || strings.Contains(err.Error(), "secret-pw") {
			t.Errorf("%v: %v; want an error about the port, without the password", b, err)
		}
	}
	if _, err := parseSettings(stream.BinderSettings{Name: "r", Type: Type, Binder: map[string]any{"address": "h:65535"}}); err != nil {
		t.Errorf("port 65535: %v", err)
	}
}
