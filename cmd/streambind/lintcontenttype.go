package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/streambind/streambind/stream"
)

// unconvertedContentTypes warns of the bindings whose content type none of
// the built-in converters handles (application/*+avro, application/x-protobuf
// from a ported SCSt service): lint registers no Go functions and so
// cannot tell whether a binding's function takes or returns []byte or
// string, which pass through whatever the content type, or a typed value,
// which needs a converter registered in code (stream.WithConverter): the
// app refuses an output binding of a typed payload without one, and warns
// of an input binding (a message's own contentType header may pick a
// converter). One warning a key: at the
// binding's content-type, or at stream.default.content-type naming every
// binding that takes it from there. Bindings with native decoding or
// encoding are left out: the binder's bytes pass as they are.
func unconvertedContentTypes(s *checkedService) stream.ConfigErrors {
	builtin := stream.NewConverters()
	byKey := map[string][]string{}
	cts := map[string]string{}
	for _, b := range s.bindings {
		if b.input && b.consumer.UseNativeDecoding || !b.input && b.producer.UseNativeEncoding {
			continue
		}
		if _, _, err := stream.ParseMediaType(b.contentType); err != nil {
			continue // an error at the key already
		}
		if _, ok := builtin.Lookup(b.contentType); ok {
			continue
		}
		key := "stream.bindings." + b.name + ".content-type"
		if _, own := s.exactOrigin(key); !own {
			if _, def := s.exactOrigin("stream.default.content-type"); def {
				key = "stream.default.content-type"
			}
		}
		byKey[key] = append(byKey[key], b.name)
		cts[key] = b.contentType
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var builtins []string
	for _, t := range builtin.MediaTypes() {
		if t == stream.DefaultContentType {
			t += " (also for any +json type)"
		}
		builtins = append(builtins, t)
	}
	var out stream.ConfigErrors
	for _, k := range keys {
		what := bindingsNamed(byKey[k])
		msg := fmt.Sprintf("%s: no built-in converter handles content type %q (built in: %s): a typed payload there needs a converter registered in code (stream.WithConverter): without one the app refuses an output binding that returns one at start-up, and an input binding decodes only the messages whose own contentType header names a converter (a warning at start-up); []byte and string payloads pass through as they are",
			what, cts[k], strings.Join(builtins, ", "))
		out = append(out, &stream.ConfigError{Path: k, Origin: s.origin(k), Msg: msg})
	}
	return out
}

// bindingsNamed is "binding a" or "bindings a, b" of names, sorted (in
// place), for a lint warning's text.
func bindingsNamed(names []string) string {
	sort.Strings(names)
	if len(names) == 1 {
		return "binding " + names[0]
	}
	return "bindings " + strings.Join(names, ", ")
}
