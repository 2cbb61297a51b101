package stream

import (
	"context"
	"sort"
	"strings"
	"time"
)

// checkOtherSections validates the binder-specific sections of bindings
// (stream.<type>.bindings.<name>.consumer/.producer) and stream.<type>.binder
// that no binder of that type validated while the bindings were prepared:
// the binder section of a type no binding uses, the section of a
// type that is registered but that the binding does not use (Kafka the
// default, stream.rabbit.bindings.x-in-0 set too), or of a binding that
// is not bound, and stream.<type>.default (checked with the app's
// bindings). An unknown key there is an error as anywhere else, so that
// a switch of binder does not bring a mistake to light only then. The
// sections of types that are not registered are reported by the
// configuration's own check.
//
// A type's sections for a binding whose binder is of another type (bound
// so, or configured so) are read by no binder, as in SCSt, where only the
// type's binder reads them: only their unknown keys are reported, the
// type's other rules (values it refuses, such as Kafka's ack-mode MANUAL)
// are not applied, and the binding's section gets one warning that it is
// ignored. A file shared by profiles that move a binding between binders
// thus does not fail for the binder the binding does not use.
func (a *App) checkOtherSections(v *validator) {
	validated := map[string]bool{}   // type NUL lower-case binding name
	boundType := map[string]string{} // lower-case binding name: its binder's type
	for _, b := range a.bindings {
		validated[b.binderType+"\x00"+strings.ToLower(b.name)] = true
		boundType[strings.ToLower(b.name)] = b.binderType
	}
	types := make([]string, 0, len(a.cfg.Extensions))
	for typ := range a.cfg.Extensions {
		types = append(types, typ)
	}
	sort.Strings(types)
	for _, typ := range types {
		ext := a.cfg.Extensions[typ]
		// side: which of a binding's sections to check.
		type side struct{ consumer, producer bool }
		checks := map[string]side{}
		for name, eb := range ext.Bindings {
			if !validated[typ+"\x00"+strings.ToLower(name)] && (len(eb.Consumer) > 0 || len(eb.Producer) > 0) {
				checks[name] = side{len(eb.Consumer) > 0, len(eb.Producer) > 0}
			}
		}
		// stream.<type>.default applies to every binding of the type; with
		// no binding on the type, the app's bindings stand for them.
		for _, b := range a.bindings {
			if b.binderType == typ {
				continue
			}
			c := checks[b.name]
			c.consumer = c.consumer || (b.input && len(ext.Default.Consumer) > 0)
			c.producer = c.producer || (!b.input && len(ext.Default.Producer) > 0)
			if c.consumer || c.producer {
				checks[b.name] = c
			}
		}
		// stream.<type>.binder is validated by creating a binder of the
		// type: by the app's own when one got it, else here (a type no
		// binding uses, or used only by binders with inherit-environment
		// false), even when no section of a binding needs a check.
		fresh := len(ext.Binder) > 0 && !a.binderSectionUsed(typ)
		if len(checks) == 0 && !fresh {
			continue
		}
		names := make([]string, 0, len(checks))
		for n := range checks {
			names = append(names, n)
		}
		sort.Strings(names)
		sv, done := a.sectionValidator(v, typ, fresh)
		if sv == nil {
			continue
		}
		// lenient checks the sections of the bindings on binders of
		// other types for unknown keys: a binder of typ made for sections
		// only, as the sections are not checked against the settings of
		// the app's binders of typ, which do not read them. Its settings'
		// problems are reported by the check of stream.<type>.binder.
		var lenient SpecValidator
		lenientDone := func() {}
		for _, name := range names {
			c := checks[name]
			cfg := a.cfg.Binding(name)
			// other: the type of the binding's binder when it is another
			// type, whose binder does not read typ's sections. decided:
			// the binding has a binder (bound, or configured with one
			// the app knows, its own or the default binder).
			other, bound := boundType[strings.ToLower(name)]
			decided := true
			if !bound {
				other, decided = a.configuredBinderType(name)
			}
			if strings.EqualFold(other, typ) {
				other = ""
			}
			path := "stream." + typ + ".bindings." + name
			check, report := sv, func(err error) { a.addSectionError(v, path, err, false) }
			if other != "" || !decided {
				// A binding with no binder decided (no default binder,
				// which is reported when a binding needs it, or a binder
				// name that is reported at its key) is on no type that
				// reads the section: unknown keys only, without the
				// warning that names the type.
				if lenient == nil {
					if lenient, lenientDone = a.sectionValidator(&validator{cfg: a.cfg}, typ, true); lenient == nil {
						lenient, lenientDone = sv, func() {}
					}
				}
				check, report = lenient, func(err error) { a.addSectionError(v, path, err, true) }
				if eb := ext.Bindings[name]; decided && (len(eb.Consumer) > 0 || len(eb.Producer) > 0) {
					args := []any{"property", path}
					if o := a.sectionOrigin(path); o != "" {
						args = append(args, "origin", o)
					}
					a.log.Warn("ignored: binding "+name+" is on a binder of type "+other+", which does not read the "+typ+" binder's properties (as in SCSt)", args...)
				}
			}
			dest := cfg.Destination
			if strings.TrimSpace(dest) == "" {
				dest = SCStComposedBindingName(name)
			}
			cons, prod := a.cfg.Extension(typ, name)
			if c.consumer {
				for _, d := range Destinations(dest) {
					spec := ConsumerSpec{Binding: name, Destination: d, Group: cfg.Group, ContentType: cfg.ContentType,
						Consumer: cfg.Consumer, Extension: cons, Logger: a.log}
					if err := check.ValidateConsumer(spec); err != nil {
						report(err)
						break
					}
				}
			}
			if c.producer {
				if d := Destinations(dest); len(d) > 0 {
					dest = d[0]
				}
				spec := ProducerSpec{Binding: name, Destination: dest, ContentType: cfg.ContentType,
					Producer: cfg.Producer, Extension: prod, Logger: a.log}
				if err := check.ValidateProducer(spec); err != nil {
					report(err)
				}
			}
		}
		lenientDone()
		done()
	}
}

// addSectionError adds err, a binder's problems with the binder-specific
// section of a binding (at path), to v: only its unknown keys when
// unknownOnly. A problem the
// binder reports under the binding (stream.<type>.bindings.<b>.<side>.<key>)
// for a key set in stream.<type>.default only is reported at that key,
// where it was written.
func (a *App) addSectionError(v *validator, path string, err error, unknownOnly bool) {
	ces, ok := asConfigErrors(err)
	if !ok {
		if !unknownOnly {
			v.add(path, "%v", err)
		}
		return
	}
	for _, e := range ces {
		if unknownOnly && !e.UnknownKey {
			continue
		}
		c := *e
		if c.Origin == "" && !a.cfg.originSet(strings.ToLower(c.Path)) {
			parts := strings.SplitN(c.Path, ".", 5)
			if len(parts) == 5 && strings.EqualFold(parts[0], "stream") && strings.EqualFold(parts[2], "bindings") {
				if d := "stream." + parts[1] + ".default." + parts[4]; a.cfg.originSet(strings.ToLower(d)) {
					c.Path = d
				}
			}
		}
		v.addErr(&c)
	}
}

// configuredBinderType returns the type of the binder of the binding
// named binding as configured: its own binder key, else
// stream.default.binder, else the default binder (stream.default-binder,
// or the one the app chose: chooseDefaultBinder), and whether there is
// one the app knows. With no default binder decided a binding that names
// none has no binder: Config.Binding's fallback (the in-process binder)
// is not the binder it would be bound to (binderFor reports the missing
// default instead), and its sections were taken for that type's.
func (a *App) configuredBinderType(binding string) (string, bool) {
	binder := ""
	if key, ok := a.cfg.bindingKey(binding); ok {
		binder = strings.TrimSpace(a.cfg.Bindings[key].Binder)
	}
	if binder == "" {
		binder = strings.TrimSpace(a.cfg.Default.Binder)
	}
	if binder == "" {
		binder = strings.TrimSpace(a.cfg.DefaultBinder)
	}
	if binder == "" {
		return "", false
	}
	name, ok := a.binderName(binder)
	if !ok {
		return "", false
	}
	if bc, declared := a.cfg.Binders[name]; declared {
		return bc.Type, true
	}
	return name, true
}

// sectionOrigin is where the section at path was set: its own key's
// origin, else that of the first of its keys in a file (a section written
// as flat keys has no origin of its own).
func (a *App) sectionOrigin(path string) string {
	if o, ok := a.cfg.Origins[strings.ToLower(path)]; ok {
		return o
	}
	return a.bindingOrigin(path)
}

// binderSectionUsed reports whether the app created a binder of type typ
// that got stream.<typ>.binder (BinderSettingsOf), which its factory
// validated.
func (a *App) binderSectionUsed(typ string) bool {
	for name, bi := range a.binders {
		if bi.typ != typ {
			continue
		}
		if bc, declared := a.cfg.Binders[name]; !declared || bc.Inherits() {
			return true
		}
	}
	return false
}

// sectionValidator returns a binder of type typ to validate sections
// with: one the app has unless fresh, else a new one (SectionsOnly),
// closed by done.
// Nil when typ is not a registered type or its binders validate nothing.
// A new one is created from stream.<type>.binder, which its factory
// validates, without reading the files it names (SkipFiles): the type is
// not used, so they need not be where the app runs.
func (a *App) sectionValidator(v *validator, typ string, fresh bool) (SpecValidator, func()) {
	names := make([]string, 0, len(a.binders))
	for n := range a.binders {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if bi := a.binders[n]; bi.typ == typ && !fresh {
			sv, _ := bi.binder.(SpecValidator)
			return sv, func() {}
		}
	}
	f, err := a.opts.binderTypes.Lookup(typ)
	if err != nil {
		return nil, nil
	}
	settings := BinderSettings{Name: typ, Type: typ,
		Binder: withConnectionDefaults(a.cfg.ConnectionDefaults[typ], a.cfg.Extensions[typ].Binder, nil),
		Logger: a.log.With("binder", typ), SectionsOnly: true, SkipFiles: true}
	b, err := f(context.Background(), settings)
	if err != nil {
		v.addError("stream."+typ+".binder", err)
		return nil, nil
	}
	closeIt := func() {
		// Never connected: closing is quick.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	}
	sv, ok := b.(SpecValidator)
	if !ok {
		closeIt()
		return nil, nil
	}
	return sv, closeIt
}
