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
func (a *App) checkOtherSections(v *validator) {
	validated := map[string]bool{} // type NUL lower-case binding name
	for _, b := range a.bindings {
		validated[b.binderType+"\x00"+strings.ToLower(b.name)] = true
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
		for _, name := range names {
			c := checks[name]
			cfg := a.cfg.Binding(name)
			dest := cfg.Destination
			if strings.TrimSpace(dest) == "" {
				dest = SCStComposedBindingName(name)
			}
			cons, prod := a.cfg.Extension(typ, name)
			if c.consumer {
				for _, d := range Destinations(dest) {
					spec := ConsumerSpec{Binding: name, Destination: d, Group: cfg.Group, ContentType: cfg.ContentType,
						Consumer: cfg.Consumer, Extension: cons, Logger: a.log}
					if err := sv.ValidateConsumer(spec); err != nil {
						v.addError("stream."+typ+".bindings."+name, err)
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
				if err := sv.ValidateProducer(spec); err != nil {
					v.addError("stream."+typ+".bindings."+name, err)
				}
			}
		}
		done()
	}
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
