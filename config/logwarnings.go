package config

import "log/slog"

// LogWarnings logs at WARN through log (slog.Default() when nil) the
// warnings Load left to the app (Options.Logger unset:
// [stream.Config.LoaderWarnings]) unless they were logged already, by
// stream.NewApp or an earlier call: after that it is a no-op. A program
// that can end between Load and NewApp (telemetry.FromConfig,
// idempotency.FromConfig or telemetry.NewTracerProvider failing, often
// for the very key a warning names) defers it right after Load, so that
// the warnings are not lost on those paths:
//
//	loaded, err := config.Load(config.Options{})
//	if err != nil { ... }
//	defer loaded.LogWarnings(nil) // a no-op once NewApp logged them
//
// A nil Loaded logs nothing.
func (l *Loaded) LogWarnings(log *slog.Logger) {
	if l == nil || l.Stream == nil {
		return
	}
	if log == nil {
		log = slog.Default()
	}
	l.Stream.LoaderWarnings.Log(log)
}
