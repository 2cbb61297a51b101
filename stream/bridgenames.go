package stream

import (
	"fmt"
	"strings"
)

// bridgeBinding returns the app's binding that name names for the bridge
// (Bridge.Send, HeaderSendToDestination), or nil: the binding of that name
// (case-insensitively), else the same binding of a composed function under
// its other spelling. A composed function's binding is named
// "uppercase|reverse-in-0" in the functional form (the docs' name, and the
// app's when the configuration does not name it) and
// "uppercasereverse-in-0" in SCSt's, which the configuration may use
// (stream.bindings.uppercasereverse-in-0) and an SCSt service's
// StreamBridge code does: either spelling reaches the binding, whichever
// the app named it by. Without this, the other spelling was taken for a
// dynamic destination: a new destination nobody reads.
func (a *App) bridgeBinding(name string) *Binding {
	if b := a.Binding(name); b != nil {
		return b
	}
	if strings.Contains(name, "|") {
		return a.Binding(SCStComposedBindingName(name))
	}
	for _, b := range a.bindings {
		if strings.Contains(b.name, "|") && strings.EqualFold(SCStComposedBindingName(b.name), name) {
			return b
		}
	}
	return nil
}

// checkBarName refuses a dynamic destination named with a '|': name,
// when the configuration has no binding of that name, or the destination
// a configured binding of that name is given. Such a name is a composed
// function's binding spelt as the docs spell it, and when no binding of
// the app has it (bridgeBinding) a destination of that name would be a
// new one nobody reads (and Kafka refuses '|' in a topic). The error
// names the binding to use: the composed binding's new name when
// stream.function.bindings renames it, else the nearest name.
func (br *Bridge) checkBarName(name string, configured bool, cfg BindingConfig) error {
	dest := name
	if configured {
		dest = cfg.Destination
	}
	if !strings.Contains(dest, "|") {
		return nil
	}
	a := br.app
	msg := fmt.Sprintf("bridge: %q is no binding of the app, and a destination is never named with '|'", name)
	if dest != name {
		msg = fmt.Sprintf("bridge: binding %q is configured with destination %q: a destination is never named with '|'", name, dest)
	}
	if n := a.cfg.FunctionBindingName(name); n != name && a.Binding(n) != nil {
		msg += fmt.Sprintf(": the composed function's binding is named %q (stream.function.bindings); send to it", n)
	} else if s := br.suggest(SCStComposedBindingName(name)); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return &notAllowedError{msg}
}
