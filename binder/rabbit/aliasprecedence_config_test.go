package rabbit

import (
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestAliasFollowsPrecedence: an environment variable that sets the
// virtual host as vhost overrides the file's virtual-host (its alias), as
// it overrides the file's vhost. Before, the binder got both keys and
// took the one that sorted last: the file's virtual-host.
func TestAliasFollowsPrecedence(t *testing.T) {
	cfg := envConfig(t, envBase+`      rabbit:
        binder: { virtual-host: from-file }
`, "SPRING_CLOUD_STREAM_RABBIT_BINDER_VHOST=from-env")
	st, err := parseSettings(stream.BinderSettingsOf(cfg, Type))
	if err != nil || st.vhost != "from-env" {
		t.Errorf("vhost %q (want the variable's), err %v", st.vhost, err)
	}
}
