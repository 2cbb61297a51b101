package stream

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
)

// checkContentType refuses a function's output binding whose content type
// no registered converter serves when the function's type needs one: the
// app started and then every output failed to encode (a ported SCSt
// service's application/*+avro, say). An input binding's content type is
// only the default of the messages without a contentType header of their
// own (the header wins, as in SCSt), and a Message the function returns
// may carry its own: those bindings are a WARN, not refused, since a
// service whose producers label their messages (application/json under a
// stream.default.content-type of text/plain) works; the messages without
// the header fail, each dead-lettered or logged.
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
	var msg string
	conv, ok := a.opts.converters.Lookup(ct)
	if ok {
		can := builtinServes(conv, t, b.input)
		if can == "" {
			return
		}
		dir := "encode"
		if b.input {
			dir = "decode"
		}
		msg = fmt.Sprintf("binding %s: content type %q has the converter %T, which cannot %s %s, the type function %q %s: it %ss only %s; use a content type whose converter does (application/json), or register another with stream.WithConverter",
			b.name, ct, conv, dir, t, e.name, what, dir, can)
	} else {
		msg = fmt.Sprintf("binding %s: no converter for content type %q (converters: %s), and function %q %s %s, which needs one: register one with stream.WithConverter, or take and return []byte, string or a stream.Message of one of them to pass payloads through as they are",
			b.name, ct, convertersText(a.opts.converters), e.name, what, t)
	}
	key := a.contentTypeKey(b.name)
	switch {
	case b.input:
		// The header of each message wins: those labelled with a type a
		// converter serves (application/json) decode.
		a.warnContentType(key, b.name, msg+"; the messages without a contentType header of their own fail to decode")
	case isMessageType(t):
		a.warnContentType(key, b.name, msg+"; the messages the function returns without a contentType header of their own fail to encode")
	default:
		v.add(key, "%s", msg)
	}
}

// warnContentType logs the WARN of a binding whose content type serves
// only the messages that carry a contentType header of their own.
func (a *App) warnContentType(key, binding, msg string) {
	args := []any{"property", key, "binding", binding}
	if o := a.cfg.Origins[strings.ToLower(key)]; o != "" {
		args = append(args, "origin", o)
	}
	a.log.Warn(msg, args...)
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

// builtinServes tells whether conv, when it is the built-in text/plain or
// application/octet-stream converter, can decode (input) or encode a
// payload of type t (or of the payload of a Message type t): "" when it
// can or conv is another converter, else the types it handles. It
// follows the converters' own type switches: a struct as text/plain
// failed every message.
func builtinServes(conv Converter, t reflect.Type, input bool) string {
	if isMessageType(t) {
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		f, ok := t.FieldByName("Payload")
		if !ok {
			return ""
		}
		t = f.Type
	}
	plain := func(t reflect.Type) bool {
		switch t {
		case reflect.TypeFor[string](), reflect.TypeFor[[]byte](), reflect.TypeFor[*string](), reflect.TypeFor[*[]byte]():
			return true
		}
		return false
	}
	var marshaler, unmarshaler reflect.Type
	var handles string
	switch conv.(type) {
	case TextConverter:
		marshaler, unmarshaler = reflect.TypeFor[encoding.TextMarshaler](), reflect.TypeFor[encoding.TextUnmarshaler]()
		handles = "string, []byte and encoding.TextUnmarshaler types"
		if !input {
			handles = "string, []byte, fmt.Stringer and encoding.TextMarshaler types"
			if t.Implements(reflect.TypeFor[fmt.Stringer]()) {
				return ""
			}
		}
	case OctetStreamConverter:
		marshaler, unmarshaler = reflect.TypeFor[encoding.BinaryMarshaler](), reflect.TypeFor[encoding.BinaryUnmarshaler]()
		handles = "[]byte, string and encoding.BinaryUnmarshaler types"
		if !input {
			handles = "[]byte, string and encoding.BinaryMarshaler types"
		}
	default:
		return ""
	}
	switch {
	case plain(t):
		return ""
	case input && reflect.PointerTo(t).Implements(unmarshaler):
		return ""
	case !input && (t.Kind() == reflect.Interface || t.Implements(marshaler)):
		return "" // an interface: its dynamic type decides
	}
	return handles
}
