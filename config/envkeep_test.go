package config

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
)

// keepQuadratic is what layer.keep did before it indexed the kept
// variables: each variable compared with every one kept before it.
func keepQuadratic(l *layer, sets []envSet) []envSet {
	overlaps := func(a, b []pathSeg) bool {
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	var kept []envSet
	for _, s := range sets {
		clash := ""
		var keep []envSet
		for _, k := range kept {
			if !overlaps(s.path, k.path) {
				keep = append(keep, k)
				continue
			}
			if k.v.rank >= s.v.rank && clash == "" {
				clash = k.v.name
			}
			if k.v.rank >= s.v.rank {
				keep = append(keep, k)
			}
		}
		if clash != "" {
			l.fail(renderPath(s.path), "env "+s.v.name, "sets the same key as env %s", clash)
			continue
		}
		kept = append(keep, s)
	}
	return kept
}

// layer.keep keeps the variables, in the order, and reports the clashes
// that the comparison of every pair did, on random sets of paths and
// ranks (prefixes, same keys, list items, empty paths).
func TestEnvKeepMatchesPairwise(t *testing.T) {
	segs := []pathSeg{keySeg("a"), keySeg("b"), keySeg("c"), {idx: 0}, {idx: 1}}
	for seed := range uint64(5000) {
		r := rand.New(rand.NewPCG(seed, 2))
		var sets []envSet
		for i := range 1 + r.IntN(12) {
			path := make([]pathSeg, r.IntN(4))
			for j := range path {
				path[j] = segs[r.IntN(len(segs))]
			}
			sets = append(sets, envSet{v: envVar{name: "V" + strconv.Itoa(i), rank: r.IntN(4)}, path: path})
		}
		want, got := newLayer("env"), newLayer("env")
		wk, gk := keepQuadratic(want, sets), got.keep(sets)
		if len(wk) == 0 {
			wk = nil
		}
		if len(gk) == 0 {
			gk = nil
		}
		if !reflect.DeepEqual(wk, gk) || fmt.Sprint(want.errs) != fmt.Sprint(got.errs) {
			t.Fatalf("seed %d, sets %v:\nwant %v %v\ngot  %v %v", seed, sets, wk, want.errs, gk, got.errs)
		}
	}
}
