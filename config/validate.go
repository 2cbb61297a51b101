package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/streambind/streambind/stream"
)

// validate runs the checks that need no function registry: the values of
// stream.default and of every binding (after defaults) and binder types. A
// blank default-binder is made empty (not set). tree is the merged
// "stream" tree.
func validate(cfg *stream.Config, tree map[string]any, origins map[string]string) []*stream.ConfigError {
	var es []*stream.ConfigError

	// stream.default over the built-in defaults.
	fromDefault := map[string]bool{}
	for _, e := range (&stream.Config{Default: cfg.Default}).Binding("").Validate("stream.default") {
		fromDefault[strings.TrimPrefix(e.Path, "stream.default.")] = true
		es = append(es, e)
	}

	names := make([]string, 0, len(cfg.Bindings))
	for n := range cfg.Bindings {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		prefix := "stream.bindings." + n
		for _, e := range cfg.Binding(n).Validate(prefix) {
			_, own := origins[strings.ToLower(e.Path)]
			if !own && fromDefault[strings.TrimPrefix(e.Path, prefix+".")] {
				continue // the bad value is stream.default's, reported there
			}
			if cfg.InheritedProblem(prefix, e.Path) {
				continue // stream.instance-index/-count's or stream.poller's, reported there
			}
			es = append(es, e)
		}
	}

	binders := make([]string, 0, len(cfg.Binders))
	for n := range cfg.Binders {
		binders = append(binders, n)
	}
	sort.Strings(binders)
	for _, n := range binders {
		bc := cfg.Binders[n]
		if strings.TrimSpace(bc.Type) != "" {
			continue
		}
		if t := impliedBinderType(n); t != "" {
			bc.Type = t
			cfg.Binders[n] = bc
			continue
		}
		es = append(es, &stream.ConfigError{
			Path: "stream.binders." + n + ".type",
			Msg:  fmt.Sprintf("required: the binder type (%s, or one the app registers); a binder named after a built-in type takes its name for its type", strings.Join(builtinBinderTypes, ", ")),
		})
	}

	// An empty (or blank) default-binder is not set, as in SCSt (whose
	// BindingService takes a default binder only when it has text):
	// default-binder: "", ${BINDER:} and STREAM_DEFAULT_BINDER= leave the
	// choice to the binders declared or registered (stream.DefaultBinderOf).
	if strings.TrimSpace(cfg.DefaultBinder) == "" {
		cfg.DefaultBinder = ""
	}

	for _, e := range es {
		if e.Origin == "" {
			e.Origin = originOf(origins, e.Path)
		}
	}
	return es
}

// impliedBinderType is the type of the binder named name declared without
// one: as in SCSt, the type is the binder's name by default
// (BinderProperties.type), so stream.binders.nats.startup-timeout alone
// declares the nats binder. Only a built-in type's name here ("" for
// another): the types an app registers are not known while loading.
func impliedBinderType(name string) string {
	if slices.Contains(builtinBinderTypes, name) {
		return name
	}
	return ""
}
