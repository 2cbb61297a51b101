package stream

import (
	"bytes"
	"errors"
	"reflect"
	"unsafe"
)

// codecs converts between Envelopes and typed values of one Go type. It is
// built once per registered type so that the per-message path makes no type
// switches and, for []byte, no allocations.
type codec[T any] struct {
	typeName string
	// decode turns a payload with content type ct into a T.
	decode func(cx *convCtx, env Envelope, ct string) (T, error)
	// encode turns a T into payload bytes (and headers, for Message).
	encode func(cx *convCtx, v T) ([]byte, Headers, error)
	// isNil reports whether v is a nil "no output" value. It takes v by
	// value: a pointer passed through a func value would escape and make
	// every output allocate.
	isNil func(v T) bool
	// raw is true for []byte and string: no converter involved.
	raw bool
	// message is true for Message[T]: its headers are the function's.
	message bool
	// key returns a Message's Key (nil for a nil *Message); set when
	// message is. It reads the field in place: boxing v to ask it
	// (keyOf) allocated once a Message output.
	key func(v T) []byte
}

// contentType is the content type decode takes for env: its contentType
// header, else def; "" for a raw codec, whose decode does not read it
// (no lookup in the headers a message).
func (c *codec[T]) contentType(env Envelope, def string) string {
	if c.raw {
		return ""
	}
	return env.ContentType(def)
}

// convCtx is what conversion needs from a binding.
type convCtx struct {
	binding    string
	converters *Converters
	// contentType is the binding's content type, used when encoding.
	contentType string
	// conv is the converter for content type ct, looked up once when a
	// function's binding is bound (withConverter; the app's converters
	// do not change once it is made); nil: none cached.
	ct   string
	conv Converter
}

// withConverter returns cx with the converter for its content type
// looked up, so that a message of that type (most are) does not look it
// up again.
func (cx convCtx) withConverter() convCtx {
	if c, ok := cx.converters.Lookup(cx.contentType); ok {
		cx.ct, cx.conv = cx.contentType, c
	}
	return cx
}

// lookup is cx.converters.Lookup(ct), from the cache when it can.
func (cx *convCtx) lookup(ct string) (Converter, bool) {
	if cx.conv != nil && ct == cx.ct {
		return cx.conv, true
	}
	return cx.converters.Lookup(ct)
}

// messageCodec is implemented by *Message[T] so that the generic code can
// recognise it and convert its payload with T's codec.
type messageCodec interface {
	fromEnvelope(cx *convCtx, env Envelope, ct string) error
	toPayload(cx *convCtx) ([]byte, Headers, error)
}

func (m *Message[T]) fromEnvelope(cx *convCtx, env Envelope, ct string) error {
	v, err := codecFor[T]().decode(cx, env, ct)
	if err != nil {
		return err
	}
	// A copy: the user may edit the headers and the key, the binder may
	// redeliver env (a retry, the dead letter: they have the key it
	// arrived with, not one a function wrote into).
	m.Payload, m.Headers, m.Key = v, env.headersCopy(), bytes.Clone(env.Key) // an empty key stays empty, not nil
	m.Received = env.Received
	return nil
}

func (m *Message[T]) toPayload(cx *convCtx) ([]byte, Headers, error) {
	if m == nil { // a nil *Message given to the bridge: not a message
		return nil, nil, Permanent(&ConversionError{Binding: cx.binding, ContentType: cx.contentType, Type: reflect.TypeFor[*Message[T]]().String(), Err: errors.New("nil message")})
	}
	// A contentType header labels the payload and so picks its converter
	// (as SCSt: the message's header wins over the binding's content type);
	// []byte and string payloads are sent as they are whatever it says. No
	// converter for it is a ConversionError naming it, not bytes of the
	// binding's content type sent under another label.
	if ct := NormalizeContentType(m.Headers[HeaderContentType]); ct != "" && ct != cx.contentType {
		mcx := *cx
		mcx.contentType = ct
		cx = &mcx
	}
	b, _, err := codecFor[T]().encode(cx, m.Payload)
	return b, m.Headers, err
}

// payloadOf is implemented by Message[T] (and *Message[T]) and Envelope:
// the partition key expression "payload.x" (and a KeyExtractor) reads the
// payload, not the Go wrapper; an Envelope's is its Payload bytes, read
// as a []byte payload is (decoded where they are JSON).
type payloadOf interface{ payloadAny() any }

func (m Message[T]) payloadAny() any { return m.Payload }

func (e Envelope) payloadAny() any { return e.Payload }

// codecFor builds the codec of T.
func codecFor[T any]() codec[T] {
	var zero T
	c := codec[T]{typeName: reflect.TypeFor[T]().String(), isNil: nilCheck[T]()}
	if _, ok := any(zero).(messageCodec); ok {
		// T is *Message[X]: as Message[X], by pointer. Through the
		// converter below, the JSON of the Message struct itself was the
		// payload ({"Payload":...,"Headers":...}) and an input's payload
		// was decoded into the Message's fields: an empty Message.
		c.message = true
		elem := reflect.TypeFor[T]().Elem()
		off := keyOffset(elem)
		c.key = func(v T) []byte {
			p := *(*unsafe.Pointer)(unsafe.Pointer(&v))
			if p == nil {
				return nil
			}
			return *(*[]byte)(unsafe.Add(p, off))
		}
		c.decode = func(cx *convCtx, env Envelope, ct string) (T, error) {
			v := reflect.New(elem).Interface().(T)
			err := any(v).(messageCodec).fromEnvelope(cx, env, ct)
			return v, err
		}
		c.encode = func(cx *convCtx, v T) ([]byte, Headers, error) {
			return any(v).(messageCodec).toPayload(cx)
		}
		return c
	}
	switch any(&zero).(type) {
	case *[]byte:
		c.raw = true
		// T is []byte: the unsafe casts below are identity conversions.
		c.decode = func(_ *convCtx, env Envelope, _ string) (T, error) {
			var v T
			*(*[]byte)(unsafe.Pointer(&v)) = env.Payload
			return v, nil
		}
		c.encode = func(_ *convCtx, v T) ([]byte, Headers, error) {
			return *(*[]byte)(unsafe.Pointer(&v)), nil, nil
		}
	case *string:
		c.raw = true
		c.decode = func(_ *convCtx, env Envelope, _ string) (T, error) {
			var v T
			*(*string)(unsafe.Pointer(&v)) = string(env.Payload)
			return v, nil
		}
		c.encode = func(_ *convCtx, v T) ([]byte, Headers, error) {
			return []byte(*(*string)(unsafe.Pointer(&v))), nil, nil
		}
	case messageCodec:
		c.message = true
		off := keyOffset(reflect.TypeFor[T]())
		c.key = func(v T) []byte { return *(*[]byte)(unsafe.Add(unsafe.Pointer(&v), off)) }
		c.decode = func(cx *convCtx, env Envelope, ct string) (T, error) {
			var v T
			err := any(&v).(messageCodec).fromEnvelope(cx, env, ct)
			return v, err
		}
		c.encode = func(cx *convCtx, v T) ([]byte, Headers, error) {
			return any(&v).(messageCodec).toPayload(cx)
		}
	default:
		typeName := c.typeName
		c.decode = func(cx *convCtx, env Envelope, ct string) (T, error) {
			var v T
			conv, ok := cx.lookup(ct)
			if !ok {
				return v, Permanent(&ConversionError{Binding: cx.binding, ContentType: ct, Type: typeName, Decode: true, Err: errNoConverter})
			}
			if err := unmarshalWith(conv, env.Payload, &v); err != nil {
				return v, Permanent(&ConversionError{Binding: cx.binding, ContentType: ct, Type: typeName, Decode: true, Err: err})
			}
			return v, nil
		}
		c.encode = func(cx *convCtx, v T) ([]byte, Headers, error) {
			conv, ok := cx.lookup(cx.contentType)
			if !ok {
				return nil, nil, Permanent(&ConversionError{Binding: cx.binding, ContentType: cx.contentType, Type: typeName, Err: errNoConverter})
			}
			b, err := marshalWith(conv, v)
			if err != nil {
				return nil, nil, Permanent(&ConversionError{Binding: cx.binding, ContentType: cx.contentType, Type: typeName, Err: err})
			}
			return b, nil, nil
		}
	}
	return c
}

// keyOffset is the offset of the Key field ([]byte) in t, a Message[X].
func keyOffset(t reflect.Type) uintptr {
	f, ok := t.FieldByName("Key")
	if !ok || f.Type != reflect.TypeFor[[]byte]() {
		panic("stream: " + t.String() + " has no Key []byte")
	}
	return f.Offset
}

// nilCheck returns a function telling whether a T is nil, for the nilable
// kinds, without boxing T into an interface (which would allocate).
func nilCheck[T any]() func(T) bool {
	t := reflect.TypeFor[T]()
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		// One machine word holding a pointer.
		return func(v T) bool { return *(*unsafe.Pointer)(unsafe.Pointer(&v)) == nil }
	case reflect.Slice:
		return func(v T) bool { return (*(*[]byte)(unsafe.Pointer(&v))) == nil }
	case reflect.Interface:
		// A nil interface has a nil type (or itab) word.
		return func(v T) bool { return (*(*[2]unsafe.Pointer)(unsafe.Pointer(&v)))[0] == nil }
	}
	return func(T) bool { return false }
}

// anyCodec is the type-erased form of a codec, for composition, batches and
// the send bridge, where values travel as `any` anyway.
type anyCodec struct {
	typ     reflect.Type
	raw     bool
	message bool // a Message[T]
	decode  func(cx *convCtx, env Envelope, ct string) (any, error)
	encode  func(cx *convCtx, v any) ([]byte, Headers, error)
	isNil   func(v any) bool
}

func erase[T any](c codec[T]) anyCodec {
	return anyCodec{
		typ:     reflect.TypeFor[T](),
		raw:     c.raw,
		message: c.message,
		decode: func(cx *convCtx, env Envelope, ct string) (any, error) {
			return c.decode(cx, env, ct)
		},
		encode: func(cx *convCtx, v any) ([]byte, Headers, error) {
			t, _ := v.(T)
			return c.encode(cx, t)
		},
		isNil: func(v any) bool {
			if v == nil {
				return true
			}
			t, ok := v.(T)
			return ok && c.isNil(t)
		},
	}
}

// encodeAny encodes a value of unknown static type, as the send bridge gets
// it: []byte and string raw, a Message[T] with its headers, anything else
// through the converter of the content type.
func encodeAny(cx *convCtx, v any) ([]byte, Headers, error) {
	switch t := v.(type) {
	case []byte:
		return t, nil, nil
	case string:
		return []byte(t), nil, nil
	case *Envelope:
		if t == nil {
			return nil, nil, Permanent(errors.New("a nil *stream.Envelope: no message to send"))
		}
	}
	if e, ok := EnvelopeOf(v); ok {
		return e.Payload, e.Headers, nil
	}
	if mc, ok := reflectMessage(v); ok {
		return mc.toPayload(cx)
	}
	conv, ok := cx.lookup(cx.contentType)
	if !ok {
		return nil, nil, Permanent(&ConversionError{Binding: cx.binding, ContentType: cx.contentType, Type: typeNameOf(v), Err: errNoConverter})
	}
	b, err := marshalWith(conv, v)
	if err != nil {
		return nil, nil, Permanent(&ConversionError{Binding: cx.binding, ContentType: cx.contentType, Type: typeNameOf(v), Err: err})
	}
	return b, nil, nil
}

// EnvelopeOf returns v as the message it is when v is an [Envelope] or a
// non-nil *Envelope: what [Bridge.Send] (and streamtest's Send) send as
// they are — its Payload bytes, Headers and Key, no content-type
// conversion. ok is false for any other value, which is encoded.
func EnvelopeOf(v any) (e Envelope, ok bool) {
	switch t := v.(type) {
	case Envelope:
		return t, true
	case *Envelope:
		if t != nil {
			return *t, true
		}
	}
	return Envelope{}, false
}

// reflectMessage returns v as a messageCodec when v is a Message[T] value.
func reflectMessage(v any) (messageCodec, bool) {
	if mc, ok := v.(messageCodec); ok { // *Message[T]
		return mc, true
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() != reflect.Struct {
		return nil, false
	}
	p := reflect.New(rv.Type())
	p.Elem().Set(rv)
	mc, ok := p.Interface().(messageCodec)
	return mc, ok
}

func typeNameOf(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}
