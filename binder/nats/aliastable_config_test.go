package nats

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

// TestAliasTableMatchesDecoder: every name binder/props lists as an alias
// of a nats binder setting is one the binder's decoder accepts. The config
// loader drops an alias that loses to another; a name in the table the
// decoder refuses (tls.ca, which only rabbit accepts) lost its
// unknown-key error so, the mistyped key silently ignored.
func TestAliasTableMatchesDecoder(t *testing.T) {
	bindertest.AliasNamesAccepted(t, Type, func(section string, m map[string]any) error {
		switch section {
		case "binder":
			_, err := parseSettings(stream.BinderSettings{Name: Type, Type: Type, Binder: m, SkipFiles: true})
			return err
		case "producer":
			_, err := parseProducer("b", m)
			return err
		case "consumer":
			_, err := parseConsumer("b", m)
			return err
		}
		t.Fatalf("section %q: not a section of the nats binder", section)
		return nil
	})
}
