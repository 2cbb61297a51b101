package config

import (
	"maps"
	"slices"
	"strings"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/internal/actuatorpath"
	"github.com/streambind/streambind/stream"
)

// bootActuatorWeb checks the Spring Boot settings of
// management.endpoints.web that package management reads (base-path,
// path-mapping.<id>, exposure.include and exclude, discovery.enabled), so
// that a bad path is reported with its file and line: such a key is an
// error here, removed. A mapping of an endpoint streambind does not serve
// is a warning, removed; an exposure.include that names one is a warning.
// Package management decodes what is left, by the same rules
// (internal/actuatorpath).
func bootActuatorWeb(mg map[string]any, origins map[string]string, skip map[string]bool) (warnings, errs []*stream.ConfigError) {
	ek, ok := mapKey(mg, "endpoints")
	if !ok {
		return nil, nil
	}
	endpoints, ok := mg[ek].(map[string]any)
	if !ok {
		return nil, nil
	}
	wk, ok := mapKey(endpoints, "web")
	if !ok {
		return nil, nil
	}
	web, ok := endpoints[wk].(map[string]any)
	if !ok {
		return nil, nil
	}
	prefix := "management." + ek + "." + wk
	warn := func(path, msg string) {
		warnings = append(warnings, &stream.ConfigError{Path: path, Origin: originOf(origins, path), Msg: msg})
	}
	fail := func(path, msg string) {
		errs = append(errs, &stream.ConfigError{Path: path, Origin: originOf(origins, path), Msg: msg})
	}
	st := actuatorpath.Settings{Base: actuatorpath.DefaultBasePath, Discovery: true}

	if k, ok := mapKey(web, "base-path"); ok && web[k] != nil && !skip[prefix+"."+k] {
		path := prefix + "." + k
		s, isString := web[k].(string)
		base, err := actuatorpath.BasePath(s)
		switch {
		case !isString:
			fail(path, "want a path that starts with '/' (or /, for the root), got "+describeValue(web[k]))
			delete(web, k)
		case err != nil:
			fail(path, err.Error())
			delete(web, k)
		default:
			st.Base = base
		}
	}
	if d, ok := mapAt(web, "discovery"); ok {
		// A boolean as Spring Boot binds one (off, no, FALSE, 0 too):
		// package management reads it so.
		if k, ok := mapKey(d, "enabled"); ok && d[k] != nil && !skip[prefix+".discovery."+k] {
			if on, err := props.Bool(d[k]); err != nil {
				fail(prefix+".discovery."+k, err.Error())
				delete(d, k)
			} else {
				st.Discovery = on
			}
		}
	}
	if ex, ok := mapAt(web, "exposure"); ok {
		for _, name := range []string{"include", "exclude"} {
			k, ok := mapKey(ex, name)
			if !ok || skip[prefix+".exposure."+k] {
				continue
			}
			ids := exposureIDs(ex[k])
			if name == "exclude" {
				st.Exclude = ids
				continue
			}
			st.Include = ids
			for _, id := range ids {
				if _, known := actuatorpath.Known(id); !known && id != "*" {
					warn(prefix+".exposure."+k, "streambind has no "+quoteShort(id)+" endpoint (its actuator endpoints: "+strings.Join(actuatorpath.IDs, ", ")+"): not served")
				}
			}
		}
	}
	mk, ok := mapKey(web, "path-mapping")
	if !ok {
		return warnings, errs
	}
	pm, ok := web[mk].(map[string]any)
	if !ok {
		return warnings, errs
	}
	mappedAt := map[string]string{} // endpoint id → its key
	for _, id := range sortedKeys(pm) {
		path := prefix + "." + mk + "." + id
		if pm[id] == nil || skip[path] {
			continue
		}
		s, isString := pm[id].(string)
		if !isString {
			fail(path, "want a path, got "+describeValue(pm[id]))
			delete(pm, id)
			continue
		}
		known, ok := actuatorpath.Known(id)
		if !ok {
			warn(path, "ignored: streambind has no "+quoteShort(id)+" endpoint (its actuator endpoints: "+strings.Join(actuatorpath.IDs, ", ")+")")
			delete(pm, id)
			continue
		}
		mapped, err := actuatorpath.Mapping(s)
		if err != nil {
			fail(path, err.Error())
			delete(pm, id)
			continue
		}
		if mapped != "" {
			if st.Mapping == nil {
				st.Mapping = map[string]string{}
			}
			st.Mapping[known] = mapped
			mappedAt[known] = id
		}
	}
	conflicts := st.Conflicts()
	for _, id := range slices.Sorted(maps.Keys(conflicts)) {
		key, ok := mappedAt[id]
		if !ok {
			continue // only a mapping can conflict (see Settings.Conflicts)
		}
		fail(prefix+"."+mk+"."+key, conflicts[id].Error())
		delete(pm, key)
	}
	return warnings, errs
}

// exposureIDs reads an exposure list as package management does: a list
// or a comma-separated string, each id trimmed; nil for anything else
// (package management reports it).
func exposureIDs(v any) []string {
	var items []string
	switch x := v.(type) {
	case string:
		items = strings.Split(x, ",")
	case []any:
		for _, it := range x {
			if s, ok := it.(string); ok {
				items = append(items, s)
			}
		}
	}
	var ids []string
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			ids = append(ids, it)
		}
	}
	return ids
}
