package stream

import (
	"reflect"
	"strings"
)

// checkContentType refuses a function's binding whose content type no
// registered converter serves when the function's type needs one: the
// app started and then every output failed to encode, and every input
// without a contentType header of its own failed to decode and was
// dead-lettered (a ported SCSt service's application/*+avro, say).
// As in SCSt, a function that takes or returns []byte or string (or a
// Message of one of them) passes the payload through whatever the content
// type says, and needs no converter; with native decoding or encoding the
// binder's bytes pass as they are too (checkNative checks those types).
func (a *App) checkContentType(v *validator, rt *runtimeBinding, b *Binding) {
	var e *entry
	var t reflect.Type
	what := "takes"
	if b.input {
		if b.cfg.Consumer.UseNativeDecoding {
			return
		}
		e = rt.fn.parts[0]
		t = e.in.typ
		if e.inElem != nil && b.cfg.Consumer.BatchMode {
			t = e.inElem.typ // each message of the batch is decoded
		}
	} else {
		if b.cfg.Producer.UseNativeEncoding {
			return
		}
		e = rt.fn.parts[len(rt.fn.parts)-1]
		t = e.out.typ
		what = "returns"
	}
	if t == nil || rawType(t) {
		return
	}
	ct := b.cfg.ContentType
	if _, _, err := ParseMediaType(ct); err != nil {
		return // reported at the key by Validate
	}
	if _, ok := a.opts.converters.Lookup(ct); ok {
		return
	}
	v.add(a.contentTypeKey(b.name), "binding %s: no converter for content type %q (converters: %s), and function %q %s %s, which needs one: register one with stream.WithConverter, or take and return []byte, string or a stream.Message of one of them to pass payloads through as they are",
		b.name, ct, convertersText(a.opts.converters), e.name, what, t)
}

// contentTypeKey returns the key that gives binding name its content
// type: its own, else stream.default's when that one is set.
func (a *App) contentTypeKey(name string) string {
	own := "stream.bindings." + name + ".content-type"
	if k, ok := a.cfg.bindingKey(name); ok && a.cfg.Bindings[k].ContentType != "" {
		return own
	}
	if a.cfg.Default.ContentType != "" {
		return "stream.default.content-type"
	}
	return own
}

// convertersText lists the media types of cs for a message, saying that
// application/json's serves the +json types.
func convertersText(cs *Converters) string {
	ts := cs.MediaTypes()
	for i, t := range ts {
		if t == DefaultContentType {
			ts[i] += " (also for any +json type)"
		}
	}
	return strings.Join(ts, ", ")
}
