package config

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/spf13/viper"
)

// mergeConfigMap (which dotted variables are merged with) does what
// viper's MergeConfigMap does: random layers, merged in turn by both,
// give the same tree, and the same problems from shadowed.
func TestMergeConfigMapIsViperS(t *testing.T) {
	keys := []string{"a", "b", "c", "", "Dd", "eE", "list"}
	var gen func(r *rand.Rand, depth int) any
	gen = func(r *rand.Rand, depth int) any {
		switch n := r.IntN(8); {
		case n < 3 && depth < 4:
			m := map[string]any{}
			for range r.IntN(4) {
				m[keys[r.IntN(len(keys))]] = gen(r, depth+1)
			}
			return m
		case n == 3 && depth < 4:
			l := []any{}
			for range r.IntN(3) {
				l = append(l, gen(r, depth+1))
			}
			return l
		case n == 4:
			return nil
		case n == 5:
			return r.IntN(3)
		default:
			return keys[r.IntN(len(keys))]
		}
	}
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 1))
		var layers []map[string]any
		for range 1 + r.IntN(5) {
			m := map[string]any{}
			for range 1 + r.IntN(3) {
				m[keys[r.IntN(len(keys))]] = gen(r, 1)
			}
			layers = append(layers, m)
		}
		v := viper.New()
		vroots := map[string]bool{}
		var verrs []string
		state, roots := map[string]any{}, map[string]bool{}
		var errs []string
		for _, l := range layers {
			a, b := deepCopy(l).(map[string]any), deepCopy(l).(map[string]any)
			for _, e := range shadowed(snapshot(v, vroots), a, "", nil, nil) {
				verrs = append(verrs, e.Path)
			}
			_ = v.MergeConfigMap(a)
			for k := range a {
				vroots[k] = true
			}
			cur := map[string]any{}
			for k := range roots {
				if state[k] != nil {
					cur[k] = state[k]
				}
			}
			for _, e := range shadowed(cur, b, "", nil, nil) {
				errs = append(errs, e.Path)
			}
			mergeConfigMap(state, b)
			for k := range b {
				roots[k] = true
			}
		}
		nv := viper.New()
		_ = nv.MergeConfigMap(state)
		want, got := snapshot(v, vroots), snapshot(nv, roots)
		if !reflect.DeepEqual(want, got) || !reflect.DeepEqual(verrs, errs) {
			t.Fatalf("seed %d, layers %v:\nviper %v %v\nours  %v %v", seed, layers, want, verrs, got, errs)
		}
	}
}
