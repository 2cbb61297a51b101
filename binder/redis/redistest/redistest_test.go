package redistest

import "testing"

func TestAddrFromEnvironment(t *testing.T) {
	for _, tc := range []struct{ url, addr, want string }{
		{"", "", "127.0.0.1:6379"},
		{"", "10.0.0.1:7000", "10.0.0.1:7000"},
		{"redis://user:secret@10.0.0.2:7001/0", "10.0.0.1:7000", "10.0.0.2:7001"},
		{"rediss://redis.example:6380", "", "redis.example:6380"},
		{"::not a url", "10.0.0.1:7000", "10.0.0.1:7000"},
	} {
		t.Setenv("REDIS_URL", tc.url)
		t.Setenv("REDIS_ADDR", tc.addr)
		if got := Addr(); got != tc.want {
			t.Errorf("REDIS_URL=%q REDIS_ADDR=%q: Addr() = %q, want %q", tc.url, tc.addr, got, tc.want)
		}
	}
}
