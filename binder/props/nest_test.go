package props_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/props"
)

var nestSections = []props.Section{
	{Key: "quorum", Scalar: "enabled"}, {Key: "dlq-quorum", Scalar: "enabled"},
	{Key: "metrics"}, {Key: "arguments", Opaque: true},
}

// decodeNested decodes m at path "p" as a binder with nestSections does,
// returning every leaf it met as "path=value" by normalised section and
// key, and the problems.
func decodeNested(m map[string]any) (map[string]string, error) {
	var d props.Decoder
	got := map[string]string{}
	d.Each("p", d.Nest("p", m, nestSections...), func(k, p string, v any) error {
		sub, isMap := v.(map[string]any)
		if !isMap {
			got[k] = p + "=" + strings.TrimSpace(stringOf(v))
			return nil
		}
		d.Each(p, sub, func(k2, p2 string, v2 any) error {
			if k2 == "bogus" {
				return props.UnknownKey(k + " accepts enabled, delivery-limit")
			}
			got[k+"."+k2] = p2 + "=" + stringOf(v2)
			return nil
		})
		return nil
	})
	return got, d.Err()
}

func stringOf(v any) string { s, _ := props.String(v); return s }

// TestNest: flat keys (as environment variables give them) are read as the
// keys of their sections, reported at the keys as written; they win over
// the section's own key of the same name, fill a scalar section's map and
// are refused for an opaque section or one set to a value.
func TestNest(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]any
		want map[string]string
		err  []string
	}{
		{name: "flat only", in: map[string]any{"quorum-enabled": true, "quorum-deliverylimit": 5, "dlq-quorum-enabled": "yes", "ttl": 1},
			want: map[string]string{"quorum.enabled": "p.quorum-enabled=true", "quorum.deliverylimit": "p.quorum-deliverylimit=5",
				"dlqquorum.enabled": "p.dlq-quorum-enabled=yes", "ttl": "p.ttl=1"}},
		{name: "spellings", in: map[string]any{"Quorum_Delivery-Limit": 5, "dlqQuorum.enabled": true},
			want: map[string]string{"quorum.deliverylimit": "p.Quorum_Delivery-Limit=5", "dlqquorum.enabled": "p.dlqQuorum.enabled=true"}},
		{name: "flat wins", in: map[string]any{"quorum": map[string]any{"delivery-limit": 3, "enabled": true}, "quorum-deliverylimit": 5},
			want: map[string]string{"quorum.deliverylimit": "p.quorum-deliverylimit=5", "quorum.enabled": "p.quorum.enabled=true"}},
		{name: "scalar section", in: map[string]any{"quorum": true, "quorum-delivery-limit": 5},
			want: map[string]string{"quorum.enabled": "p.quorum=true", "quorum.deliverylimit": "p.quorum-delivery-limit=5"}},
		{name: "not a section", in: map[string]any{"quorumenabled": true, "metrics": 1, "metricsx": 2},
			want: map[string]string{"quorumenabled": "p.quorumenabled=true", "metrics": "p.metrics=1", "metricsx": "p.metricsx=2"}},
		{name: "wrong sub-key", in: map[string]any{"quorum-bogus": 1},
			err: []string{"p.quorum-bogus: unknown key (quorum accepts enabled, delivery-limit)"}},
		{name: "opaque", in: map[string]any{"arguments-x-match": "all", "arguments": map[string]any{"x-match": "any"}},
			want: map[string]string{"arguments.xmatch": "p.arguments.x-match=any"},
			err:  []string{"p.arguments-x-match: the keys of arguments are names of your own"}},
		{name: "section set to a value", in: map[string]any{"metrics": "on", "metrics-interval": "1s"},
			want: map[string]string{"metrics": "p.metrics=on"},
			err:  []string{"p.metrics-interval: metrics is set to a value at p.metrics, not to a map that interval could be a key of"}},
	} {
		got, err := decodeNested(tc.in)
		if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		for _, w := range tc.err {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error does not say %q: %v", tc.name, w, err)
			}
		}
		if len(tc.err) == 0 && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestNestChained: a flat key moved into a section whose own flat keys are
// moved again (dlq-producer-properties-configuration-linger-ms) is reported
// at the key as written, and the input map is not changed.
func TestNestChained(t *testing.T) {
	in := map[string]any{"outer-inner-x": 1}
	var d props.Decoder
	var at string
	d.Each("p", d.Nest("p", in, props.Section{Key: "outer"}), func(k, p string, v any) error {
		m, _ := props.Map(v)
		d.Each(p, d.Nest(p, m, props.Section{Key: "inner"}), func(k, p string, v any) error {
			m, _ := props.Map(v)
			for k := range m {
				at = d.KeyPath(p, k)
			}
			return nil
		})
		return nil
	})
	if at != "p.outer-inner-x" {
		t.Errorf("reported at %q, want p.outer-inner-x", at)
	}
	if len(in) != 1 || in["outer-inner-x"] != 1 {
		t.Errorf("input changed: %v", in)
	}
}
