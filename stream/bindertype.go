package stream

import "maps"

// withImpliedBinderTypes returns cfg with the type of each binder
// declared without one (stream.binders.<name> with no type) set to its
// name when that names a registered binder type, as in SCSt, whose
// BinderProperties.type "by default has the same value as the
// configuration name": stream.binders.nats.startup-timeout alone declares
// the nats binder. cfg itself is left as it is (a copy is returned when a
// type is implied); a declaration whose name is no registered type keeps
// its empty type, which checkBinderDeclarations reports.
func withImpliedBinderTypes(cfg *Config, types BinderTypes) *Config {
	var binders map[string]BinderConfig
	for name, bc := range cfg.Binders {
		if bc.Type != "" {
			continue
		}
		if _, ok := types[name]; !ok {
			continue
		}
		if binders == nil {
			binders = maps.Clone(cfg.Binders)
		}
		bc.Type = name
		binders[name] = bc
	}
	if binders == nil {
		return cfg
	}
	c := *cfg
	c.Binders = binders
	return &c
}
