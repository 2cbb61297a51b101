package rabbit

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestHostWithAddressesLoads: host next to addresses in
// stream.rabbit.binder loads (host and addresses are not two names of one
// setting to the loader: 8cc4199 refused the pair, "keep one"), and, as
// Spring Boot's spring.rabbitmq.addresses over spring.rabbitmq.host,
// addresses win, with the host named as ignored for the WARN line (before,
// the keys' sort order let host silently replace addresses). A host alone
// is the address.
func TestHostWithAddressesLoads(t *testing.T) {
	cfg := envConfig(t, envBase+`      rabbit:
        binder: { addresses: 'a.example:5672', host: b.example }
`)
	st, err := parseSettings(stream.BinderSettingsOf(cfg, Type))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(st.endpoints) != 1 || !strings.HasPrefix(st.endpoints[0].hostPort, "a.example") {
		t.Fatalf("endpoints %v, want a.example's (addresses win over host)", st.endpoints)
	}
	if len(st.ignored) != 1 || !strings.HasSuffix(st.ignored[0][0], "host") || !strings.HasSuffix(st.ignored[0][1], "addresses") {
		t.Fatalf("ignored %v, want host ignored for addresses", st.ignored)
	}

	cfg = envConfig(t, envBase+`      rabbit:
        binder: { host: b.example }
`)
	if st, err = parseSettings(stream.BinderSettingsOf(cfg, Type)); err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(st.endpoints) != 1 || !strings.HasPrefix(st.endpoints[0].hostPort, "b.example") || len(st.ignored) != 0 {
		t.Fatalf("endpoints %v ignored %v, want b.example's alone", st.endpoints, st.ignored)
	}
}
