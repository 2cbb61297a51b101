package config

import (
	"testing"
)

// A placeholder naming a key with dashes (${app.input-topic}) is filled
// from the variable Spring Boot's reference documents for it, the dashes
// removed (APP_INPUTTOPIC), before the legacy one with '_' for '-'
// (APP_INPUT_TOPIC): SystemEnvironmentPropertyMapper.map tries
// ToStringFormat.SYSTEM_ENVIRONMENT (uniform elements) first.
// streambind tried only APP_INPUT_TOPIC and took the default.
func TestPlaceholderEnvNameWithoutDashes(t *testing.T) {
	const yaml = `spring.cloud.stream.bindings:
  a-in-0: { destination: "${app.input-topic:fallback}", group: g }
  b-in-0: { destination: "${app.input-topic:fallback}-b", group: "${app.group-name:none}" }
`
	l := mustLoad(t, Options{Data: []byte(yaml), Logger: discard,
		Env: []string{"APP_INPUTTOPIC=orders", "APP_GROUP_NAME=legacy"}})
	if d := l.Stream.Binding("a-in-0").Destination; d != "orders" {
		t.Errorf("${app.input-topic} with APP_INPUTTOPIC=orders: %q", d)
	}
	if b := l.Stream.Binding("b-in-0"); b.Destination != "orders-b" || b.Group != "legacy" {
		t.Errorf("b-in-0: destination %q, group %q", b.Destination, b.Group)
	}
	// Both set: the form without dashes wins, as in Boot.
	l = mustLoad(t, Options{Data: []byte(yaml), Logger: discard,
		Env: []string{"APP_INPUTTOPIC=uniform", "APP_INPUT_TOPIC=legacy"}})
	if d := l.Stream.Binding("a-in-0").Destination; d != "uniform" {
		t.Errorf("both variables set: %q, want uniform", d)
	}
}
