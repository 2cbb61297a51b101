package config

import (
	"strings"
	"unicode"

	"github.com/streambind/streambind/stream"
)

// enumName is Spring Boot's canonical form of an enum value
// (LenientObjectToEnumConverterFactory): letters and digits only, lower
// case, so that NONE, None, none and embedded-headers, EMBEDDED_HEADERS,
// embeddedHeaders compare equal.
func enumName(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}

// headerModes are SCSt's HeaderMode values by canonical name.
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
			if v, ok := headerModes[enumName(*m)]; ok {
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
