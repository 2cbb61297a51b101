package stream

import "strings"

// BinderSettingsOf returns the settings an app gives the factory of the
// binder named name in cfg (a binder declared under stream.binders, matched
// ignoring case, or a binder type): its type, its environment, and the
// binder-type section stream.<type>.binder with the Spring Boot connection
// defaults (spring.rabbitmq.*, spring.kafka.bootstrap-servers, ...) under
// it, which the environment's keys win over (see
// BinderConfig.InheritEnvironment; with inherit-environment false the
// binder gets neither). Logger is left for the caller. Tools that create
// a binder outside an app (streambind dlq) use it so that they connect
// where the app does.
func BinderSettingsOf(cfg *Config, name string) BinderSettings {
	typ := name
	var env map[string]any
	bc, ok := cfg.Binders[name]
	if !ok {
		for k, v := range cfg.Binders {
			if strings.EqualFold(k, name) {
				name, bc, ok = k, v, true
				break
			}
		}
	}
	if ok {
		typ, env = bc.Type, bc.Environment
		if !bc.Inherits() {
			// inherit-environment: false: as in SCSt, the binder sees its
			// environment only, neither spring.<type>.* nor
			// stream.<type>.binder of the application.
			return BinderSettings{Name: name, Type: typ, Environment: env}
		}
	}
	return BinderSettings{Name: name, Type: typ, Environment: env,
		Binder: withConnectionDefaults(cfg.ConnectionDefaults[typ], cfg.Extensions[typ].Binder, env)}
}
