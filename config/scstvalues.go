package config

import (
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// headerModes are SCSt's HeaderMode values by canonical name
// (props.EnumName: Spring binds enums leniently).
var headerModes = map[string]string{
	"headers":         stream.HeaderModeHeaders,
	"none":            stream.HeaderModeNone,
	"embeddedheaders": "embeddedHeaders", // refused by validation, with the reason
}

// normaliseEnums spells the enum values of the decoded configuration as
// streambind does, since Spring binds SCSt's enums leniently (header-mode:
// NONE is none there). An unknown value is left as written for validation
// to report.
func normaliseEnums(cfg *stream.Config) {
	fix := func(b *stream.BindingConfig) {
		for _, m := range []*string{&b.Consumer.HeaderMode, &b.Producer.HeaderMode} {
			if v, ok := headerModes[props.EnumName(*m)]; ok {
				*m = v
			}
		}
	}
	fix(&cfg.Default)
	for n, b := range cfg.Bindings {
		fix(&b)
		cfg.Bindings[n] = b
	}
}
