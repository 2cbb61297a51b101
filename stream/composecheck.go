package stream

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// checkCompositions checks, at start-up, that the output of each part of
// a bound composition can reach the next part's input. A part's output
// passes as it is when the types match, otherwise through JSON (adapt):
// that lets a []byte, string or Message part feed a struct one and back,
// but between two struct types that share no JSON field it decodes a
// value whose every field is zero, without an error (an amount silently
// ""), and a struct into a number, bool or string does not decode at all:
// each message would be dead-lettered. Both are refused here. Two struct
// types that share some fields (a projection) start, with a WARN naming
// the input's fields the output does not have. Types with their own
// marshalling (MarshalJSON, MarshalText...) and an application/json
// converter of the application's are not judged: what they make of a
// value is theirs.
func (a *App) checkCompositions(v *validator, bound []*boundFunc) {
	convs := a.opts.converters
	if c, ok := convs.Lookup(DefaultContentType); !ok || !isJSONConverter(c) {
		return
	}
	for _, bf := range bound {
		for i := 1; i < len(bf.parts); i++ {
			prev, next := bf.parts[i-1], bf.parts[i]
			if prev.out.typ == nil || next.in.typ == nil {
				continue
			}
			fit := partsFit(prev, next, convs)
			switch {
			case fit.problem != "":
				v.add("stream.function.definition", "composition %s: %s", bf.name, fit.problem)
			case len(fit.missing) > 0:
				a.log.Warn("composition: the input of a part has JSON fields the output of the part before it does not have: they will be zero (the output reaches the input through JSON)",
					"composition", bf.name, "output", prev.name+" ("+fit.out.String()+")", "input", next.name+" ("+fit.in.String()+")",
					"fields", strings.Join(fit.missing, ", "))
			}
		}
	}
}

// fit is what partsFit found: a problem that refuses the composition, or
// the input's JSON fields that the output lacks.
type fit struct {
	problem string
	missing []string
	out, in reflect.Type // the payload types compared
}

var (
	messageCodecType = reflect.TypeFor[messageCodec]()
	envelopeType     = reflect.TypeFor[Envelope]()
	ownMarshalling   = []reflect.Type{
		reflect.TypeFor[json.Marshaler](), reflect.TypeFor[json.Unmarshaler](),
		reflect.TypeFor[encoding.TextMarshaler](), reflect.TypeFor[encoding.TextUnmarshaler](),
		reflect.TypeFor[encoding.BinaryMarshaler](), reflect.TypeFor[encoding.BinaryUnmarshaler](),
	}
)

// partsFit judges the output type of part prev against the input type of
// part next, as adapt would convert a value between them.
func partsFit(prev, next *entry, convs *Converters) fit {
	out, in := prev.out.typ, next.in.typ
	if out == in {
		return fit{}
	}
	outT, outMsg := messagePayload(out)
	inT, _ := messagePayload(in)
	inShown := inT
	// A Message output's contentType header picks the converter at run
	// time: with a converter of the application's, it may be any.
	if outMsg && !convs.builtinOnly() {
		return fit{}
	}
	// A string or []byte input takes the output's bytes as they are.
	if inT == reflect.TypeFor[string]() || inT == reflect.TypeFor[[]byte]() {
		return fit{}
	}
	outT, inT = derefAll(outT), derefAll(inT)
	if outT.Kind() != reflect.Struct || outT == envelopeType || inT == envelopeType ||
		ownsMarshalling(outT) || ownsMarshalling(inT) {
		return fit{}
	}
	switch inT.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		// A struct is a JSON object, which decodes into no scalar.
		return fit{problem: fmt.Sprintf("the output of %s (%s, a JSON object) does not decode into the input of %s (%s): every message would fail; compose through a function converting %s to %s",
			prev.name, outT, next.name, inShown, outT, inShown)}
	case reflect.Struct:
	default:
		return fit{}
	}
	if outT == inT {
		return fit{}
	}
	outNames, inNames := jsonFieldNames(outT), jsonFieldNames(inT)
	if len(inNames) == 0 {
		return fit{} // the input reads no field
	}
	// encoding/json matches a key to a field's name exactly or, failing
	// that, without regard to case.
	var missing []string
	for _, n := range inNames {
		if !containsFold(outNames, n) {
			missing = append(missing, n)
		}
	}
	if len(missing) == len(inNames) {
		return fit{problem: fmt.Sprintf("the output of %s (%s: %s) shares no JSON field with the input of %s (%s: %s): every field would be zero; compose through a function converting %s to %s",
			prev.name, outT, fieldList(outNames), next.name, inT, fieldList(inNames), outT, inT)}
	}
	return fit{missing: missing, out: outT, in: inT}
}

// messagePayload returns t's payload type when t is a Message[T] or a
// *Message[T], else t.
func messagePayload(t reflect.Type) (reflect.Type, bool) {
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		t = t.Elem()
	} else if t.Kind() != reflect.Struct {
		return t, false
	}
	if reflect.PointerTo(t).Implements(messageCodecType) {
		if f, ok := t.FieldByName("Payload"); ok {
			return f.Type, true
		}
	}
	return t, false
}

func derefAll(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// ownsMarshalling reports whether t (or *t) has methods a converter
// would use instead of encoding/json's reading of its fields.
func ownsMarshalling(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	for _, it := range ownMarshalling {
		if t.Implements(it) || pt.Implements(it) {
			return true
		}
	}
	return false
}

func isJSONConverter(c Converter) bool {
	switch c.(type) {
	case JSONConverter, *JSONConverter:
		return true
	}
	return false
}

// builtinOnly reports whether cs has only the built-in converters.
func (cs *Converters) builtinOnly() bool {
	if cs.wild {
		return false
	}
	for _, c := range cs.byType {
		switch c.(type) {
		case JSONConverter, *JSONConverter, TextConverter, *TextConverter, OctetStreamConverter, *OctetStreamConverter:
		default:
			return false
		}
	}
	return true
}

// jsonFieldNames returns the JSON names of struct type t's fields as
// encoding/json reads them: exported fields, a json tag's name, none for
// "-", the fields of an embedded struct without a tag name promoted. Names
// that encoding/json drops because they conflict are kept: one name too
// many only makes the check find a shared field where there is none.
func jsonFieldNames(t reflect.Type) []string {
	var names []string
	var walk func(t reflect.Type, seen map[reflect.Type]bool)
	walk = func(t reflect.Type, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		defer delete(seen, t)
		for i := range t.NumField() {
			sf := t.Field(i)
			if sf.Anonymous {
				et := sf.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if !sf.IsExported() && et.Kind() != reflect.Struct {
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if !validJSONTag(name) {
				name = ""
			}
			ft := sf.Type
			if ft.Name() == "" && ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
				walk(ft, seen)
				continue
			}
			if name == "" {
				name = sf.Name
			}
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	walk(t, map[reflect.Type]bool{})
	return names
}

// validJSONTag is encoding/json's isValidTag.
func validJSONTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// fieldList is names for a message: "fields a, b", at most ten.
func fieldList(names []string) string {
	switch {
	case len(names) == 0:
		return "no fields"
	case len(names) > 10:
		return "fields " + strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	return "fields " + strings.Join(names, ", ")
}
