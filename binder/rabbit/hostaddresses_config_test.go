package rabbit

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestHostWithAddressesLoads: host next to addresses in
// stream.rabbit.binder loads and reaches the binder as before 8cc4199
// (host and addresses are not two names of one setting to the loader).
// After 8cc4199 the loader refused the pair from one source ("names the
// same setting as addresses … keep one").
func TestHostWithAddressesLoads(t *testing.T) {
	cfg := envConfig(t, envBase+`      rabbit:
        binder: { addresses: 'a.example:5672', host: b.example }
`)
	st, err := parseSettings(stream.BinderSettingsOf(cfg, Type))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(st.endpoints) != 1 {
		t.Fatalf("endpoints %v, want one", st.endpoints)
	}
}
