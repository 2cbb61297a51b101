package bindertest

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/props"
)

// AliasNamesAccepted checks that a binder's decoder accepts every name
// binder/props lists as an alias of one of its settings: for each section
// of props.AliasSections(typ) and each name of its sets, decode is called
// with the top section ("binder", "producer", "consumer") and a map that
// holds that one key, nested as the section says ("binder.tls":
// {tls: {ca-file: …}}), and its error must not say "unknown key". A
// value the setting refuses is fine: the key was recognised. Otherwise
// the config loader would drop the name as an alias's loser, and with it
// the decoder's unknown-key error (a mistyped tls.ca silently ignored).
func AliasNamesAccepted(t *testing.T, typ string, decode func(section string, m map[string]any) error) {
	t.Helper()
	sections := props.AliasSections(typ)
	if len(sections) == 0 {
		t.Fatalf("binder/props lists no aliases for binder type %q", typ)
	}
	for _, sec := range sections {
		parts := strings.Split(sec, ".")
		for _, set := range props.Aliases(typ, sec) {
			for _, name := range set {
				var v any = map[string]any{name: "1"}
				for i := len(parts) - 1; i > 0; i-- {
					v = map[string]any{parts[i]: v}
				}
				if err := decode(parts[0], v.(map[string]any)); err != nil && strings.Contains(err.Error(), "unknown key") {
					t.Errorf("%s: %s.%s is an alias in binder/props but the decoder refuses it: %v", typ, sec, name, err)
				}
			}
		}
	}
}
