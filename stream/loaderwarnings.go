package stream

import (
	"log/slog"
	"sync"
)

// LoaderWarnings are the warnings of the configuration loader (package
// config: keys ignored, files not read) that it left for the app to log,
// having no logger of its own (config.Options.Logger unset: the loader
// runs before the program makes its logger, whose format and level the
// configuration it loads decides). [NewApp] logs them through the app's
// logger ([WithLogger]), so that they go where the app's own lines go, in
// their format; once: an app made again from the configuration, or from a
// copy of it, does not log them again.
type LoaderWarnings struct {
	// Warnings are the warnings, in the loader's order.
	Warnings []LoaderWarning

	once sync.Once
}

// LoaderWarning is one warning of the configuration loader: a key
// ignored, (File) a configuration file not read, or (Profile) an active
// profile that matches no configuration, with the reason.
type LoaderWarning struct {
	*ConfigError
	// File says Path is a configuration file left unread, not a key.
	File bool
	// Profile says an active profile matches no profile file and no
	// document: Path is the key that activated it (spring.profiles.active),
	// which was read, not ignored.
	Profile bool
}

// Log logs the warnings at WARN through log the first time it is called
// (later calls log nothing): "configuration key ignored" with property,
// origin and reason, "configuration file not read" with file and reason,
// "active profile matches no configuration" with property, origin and
// reason. The property is the key as written where it was set (Key),
// else Path.
// A nil LoaderWarnings logs nothing.
func (w *LoaderWarnings) Log(log *slog.Logger) {
	if w == nil {
		return
	}
	w.once.Do(func() {
		for _, x := range w.Warnings {
			if x.File {
				log.Warn("configuration file not read", "file", x.Path, "reason", x.Msg)
				continue
			}
			if x.Profile {
				log.Warn("active profile matches no configuration", "property", x.Shown(), "origin", x.Origin, "reason", x.Msg)
				continue
			}
			log.Warn("configuration key ignored", "property", x.Shown(), "origin", x.Origin, "reason", x.Msg)
		}
	})
}
