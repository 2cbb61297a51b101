package bindertest

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// AddressesChecked checks a binder's decoding of its connection
// addresses (parse is the binder's: stream.BinderSettings in, its error
// out). Each refused {key, value, want}: the value of key (of
// stream.<typ>.binder) the binder must refuse, want a part of the error's
// text. Each refused value, set in stream.<typ>.binder and in a binder's
// environment (stream.binders.<name>.environment), must be an error at
// that key saying Want, without secret (the password the values hold).
// Each accepted map, set in stream.<typ>.binder, must decode.
func AddressesChecked(t *testing.T, typ, secret string, parse func(stream.BinderSettings) error, refused [][3]string, accepted []map[string]any) {
	t.Helper()
	const name = "b"
	for _, r := range refused {
		tc := struct{ Key, Value, Want string }{r[0], r[1], r[2]}
		for _, env := range []bool{false, true} {
			bs := stream.BinderSettings{Name: name, Type: typ}
			m, at := map[string]any{tc.Key: tc.Value}, "stream."+typ+".binder."+tc.Key
			if env {
				bs.Environment, at = m, "stream.binders."+name+".environment."+tc.Key
			} else {
				bs.Binder = m
			}
			err := parse(bs)
			if err == nil {
				t.Errorf("%s %q accepted", at, tc.Value)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, at+":") || !strings.Contains(msg, tc.Want) || strings.Contains(msg, secret) {
				t.Errorf("%s %q: %s\nwant it at the key, saying %q, without the password", at, tc.Value, msg, tc.Want)
			}
		}
	}
	for _, m := range accepted {
		if err := parse(stream.BinderSettings{Name: name, Type: typ, Binder: m}); err != nil {
			t.Errorf("%v: %v", m, err)
		}
	}
}
