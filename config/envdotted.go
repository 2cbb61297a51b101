package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/viper"

	"github.com/streambind/streambind/stream"
)

// dottedEnvRoots are the roots a variable named as a key
// (spring.cloud.stream.bindings.x-in-0.group) is read for, besides the
// roots the files declare.
var dottedEnvRoots = map[string]bool{"spring": true, "stream": true, "management": true, "logging": true}

// dottedEnvLayers returns a layer for each environment variable whose name
// is a key as a file spells it (spring.cloud.stream.kafka.binder.brokers=
// kafka:9092, as docker-compose files and Kubernetes manifests often set
// them): Spring Boot reads such a variable as that key, so an SCSt
// service's deployment sets its configuration so. Only names under the
// roots streambind reads (spring, stream, management, logging) or a root
// the files declare are read; each is checked as a file's key (a misspelt
// one is an error at "env NAME"). They rank over the files and under the
// variables in upper case (SPRING_CLOUD_STREAM_..., STREAM_...), which
// Spring Boot's mapping consults first. The keys that choose the
// profiles and the files (spring.profiles.active, include, default,
// group.<name>, spring.config.location, additional-location, name,
// import: selectionKey) are read where those are chosen, before any
// file, after their upper-case variables; another spring.profiles.* or
// spring.config.* variable, or one of those spelt otherwise
// (Spring.Profiles.Active), is a warning.
func dottedEnvLayers(env map[string]string, root *schema, fileRoots map[string]bool) (layers []*layer, errs, warns []*stream.ConfigError) {
	names := make([]string, 0)
	for name := range env {
		r, _, ok := strings.Cut(name, ".")
		if !ok || r == "" {
			continue
		}
		if lr := strings.ToLower(r); dottedEnvRoots[lr] || fileRoots[lr] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		origin := "env " + name
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "spring.profiles.") || strings.HasPrefix(lower, "spring.config.") {
			if selectionKey(name) {
				continue // read where the profiles and the files are chosen
			}
			upper := strings.ToUpper(strings.NewReplacer(".", "_", "-", "").Replace(name))
			msg := "ignored: the profiles and the files to read are chosen before any key is read; set the variable " + upper
			if selectionKey(lower) {
				msg = "ignored: a variable named as a key is read as Spring Boot reads it, as written (" + lower + "), or set the variable " + upper
			}
			warns = append(warns, &stream.ConfigError{Path: lower, Origin: origin, Msg: msg})
			continue
		}
		b := newPropsBuilder(origin)
		if err := b.add(name, env[name], 1); err != nil {
			p := fileProblem(err)
			p.Origin = origin
			errs = append(errs, p)
			continue
		}
		doc, err := b.finish()
		if err != nil || doc == nil {
			if err != nil {
				p := fileProblem(err)
				p.Origin = origin
				errs = append(errs, p)
			}
			continue
		}
		l := newLayer(origin)
		l.origin = origin
		l.mapping(doc, root, nil)
		clear(l.keys) // the origin, env <name>, names the key as written
		errs = append(errs, l.errs...)
		layers = append(layers, l)
	}
	return layers, errs, warns
}

// selectionKey reports whether name is a key that chooses the profiles
// or the files, read from a variable named as the key where they are
// chosen (activeProfiles, defaultProfiles, groupsOf, locFinder.setting,
// importer.envImports), after its upper-case variable, as Spring Boot's
// SpringConfigurationPropertySource reads the system environment
// (SystemEnvironmentPropertyMapper, then DefaultPropertyMapper: the
// name as the key is written, lower case, '-' between words).
func selectionKey(name string) bool {
	switch name {
	case "spring.profiles.active", "spring.profiles.include", "spring.profiles.default",
		"spring.config.location", "spring.config.additional-location", "spring.config.name", "spring.config.import":
		return true
	}
	rest, ok := strings.CutPrefix(name, "spring.profiles.group.")
	return ok && rest != ""
}

// mergeLayers merges layers, in order, over the merged tree of v, as
// Load's merge does (each checked by shadowed against the tree before it,
// origins naming where the tree's keys were set), calling after (when not
// nil) with each once it is merged; it returns the viper that holds the
// result with the problems shadowed found. viper's MergeConfigMap reads
// every key of a level to find one (keyExists): a layer per dotted
// variable, or one layer of many upper-case variables, took quadratic
// time. Here the layers are merged into one tree by mergeConfigMap, which
// does what MergeConfigMap does in time proportional to the layer, and
// the tree is handed to a new viper at once (only its roots are read
// then).
func mergeLayers(v *viper.Viper, roots map[string]bool, layers []*layer, origins map[string]string, after func(*layer)) (*viper.Viper, []*stream.ConfigError) {
	if len(layers) == 0 {
		return v, nil
	}
	var errs []*stream.ConfigError
	state := snapshot(v, roots)
	for _, l := range layers {
		l.matchSpellings(state)
		errs = append(errs, shadowed(state, l.tree, "", l.origins, origins)...)
		mergeConfigMap(state, l.tree)
		for k := range l.tree {
			roots[k] = true
		}
		if after != nil {
			after(l)
		}
	}
	nv := viper.New()
	_ = nv.MergeConfigMap(state) // never fails
	return nv, errs
}

// overDotted returns what Load does with each layer of dotted variables
// once it is merged, as with any layer merged over the files (mergeOver):
// its spellings noted, its origins set, a list it sets replacing the
// files' whole with their items' origins. The origins of list items are
// found by an index, not by reading every origin for each variable.
func overDotted(origins, spelled map[string]string) func(*layer) {
	var items listItemOrigins
	return func(l *layer) {
		for k, s := range l.spelled {
			if spelled[k] == "" {
				spelled[k] = s
			}
		}
		if items == nil {
			items = newListItemOrigins(origins)
		}
		// Every list the layer sets is dropped before any of its origins
		// is set: the layer holds a list's key and its items' keys, in
		// map order, and the list coming after its item would drop the
		// item's origin just set.
		for k := range l.origins {
			items.drop(origins, k) // a list replaced whole
		}
		for k, o := range l.origins {
			origins[k] = o
			items.add(k)
		}
	}
}

// listItemOrigins indexes key paths of origins by the path of each list
// they are items of, or under an item of (a[0] and a[0].b[1] by a,
// a[0].b[1] by a[0].b too), so that the origins of a list's items are
// found without reading every origin.
type listItemOrigins map[string][]string

func newListItemOrigins(origins map[string]string) listItemOrigins {
	ix := listItemOrigins{}
	for p := range origins {
		ix.add(p)
	}
	return ix
}

// add indexes key path p, set in origins.
func (ix listItemOrigins) add(p string) {
	for i := 0; i < len(p); i++ {
		if p[i] == '[' {
			ix[p[:i]] = append(ix[p[:i]], p)
		}
	}
}

// drop deletes from origins every key path that starts with list+"[",
// as a loop over origins testing strings.HasPrefix(p, list+"[") would.
// Every such path is in ix[list] (some of those listed may be gone
// already), so that entry is spent.
func (ix listItemOrigins) drop(origins map[string]string, list string) {
	for _, p := range ix[list] {
		delete(origins, p)
	}
	delete(ix, list)
}

// mergeConfigMap merges tree src over tgt as viper's MergeConfigMap merges
// it over its configuration: src's keys lower-cased in place (in maps of
// lists too), then key by key a map merged into a map, a value (or list,
// or map) replacing a value, list or nil, a value over a map dropped (the
// map stays: shadowed reports it). tgt's keys must be lower-case, as
// viper's are; MergeConfigMap finds a key by comparing it with each of
// the level's keys in lower case, which is the same then, and so is its
// taking an empty key for one not found.
// TestMergeConfigMapIsViperS compares the two.
func mergeConfigMap(tgt, src map[string]any) {
	lowerKeys(src)
	mergeTree(tgt, src)
}

func mergeTree(tgt, src map[string]any) {
	for sk, sv := range src {
		tv, ok := tgt[sk]
		if !ok || sk == "" {
			tgt[sk] = sv
			continue
		}
		if tm, isMap := tv.(map[string]any); isMap {
			if sm, ok := sv.(map[string]any); ok {
				mergeTree(tm, sm)
			}
			continue
		}
		tgt[sk] = sv
	}
}

// lowerKeys lower-cases the keys of m and of the maps in it, in place, as
// viper's insensitiviseMap does.
func lowerKeys(m map[string]any) {
	for key, val := range m {
		val = lowerVal(val)
		lower := strings.ToLower(key)
		if key != lower {
			delete(m, key)
		}
		m[lower] = val
	}
}

func lowerVal(val any) any {
	switch v := val.(type) {
	case map[any]any:
		// Layers hold none; viper makes one a map[string]any.
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[fmt.Sprint(k)] = x
		}
		lowerKeys(m)
		return m
	case map[string]any:
		lowerKeys(v)
	case []any:
		for i, x := range v {
			v[i] = lowerVal(x)
		}
	}
	return val
}
