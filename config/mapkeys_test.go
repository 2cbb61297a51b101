package config

import (
	"reflect"
	"testing"
)

// The keys of free maps (function.bindings, retryable-exceptions, the
// maps below a binder property) keep their case as written, in YAML and in
// .properties (dotted and bracket forms); property names stay relaxed.
func TestMapKeysKeepTheirCase(t *testing.T) {
	t.Run("properties", func(t *testing.T) {
		l := mustLoad(t, Options{Dir: "testdata/mapkeys-properties"})
		c := l.Stream
		want := map[string]string{"toUpper|addTax-in-0": "enrichIn", "toUpper|addTax-out-0": "enrichOut", "sink-in-0": "sinkIn"}
		if !reflect.DeepEqual(c.Function.Bindings, want) {
			t.Errorf("function.bindings = %v, want %v", c.Function.Bindings, want)
		}
		if got := c.FunctionBindingName("toUpper|addTax-in-0"); got != "enrichIn" {
			t.Errorf("FunctionBindingName(toUpper|addTax-in-0) = %q", got)
		}
		// Still matched case-insensitively, as documented.
		if got := c.FunctionBindingName("TOUPPER|addtax-out-0"); got != "enrichOut" {
			t.Errorf("FunctionBindingName(TOUPPER|addtax-out-0) = %q", got)
		}
		re := c.Binding("flaky-in-0").Consumer.RetryableExceptions
		if want := map[string]bool{"java.lang.IllegalStateException": true, "java.io.UncheckedIOException": false}; !reflect.DeepEqual(re, want) {
			t.Errorf("retryable-exceptions = %v, want %v", re, want)
		}
		if o := c.Origins["stream.function.bindings.toupper|addtax-in-0"]; o != "application.properties:7" {
			t.Errorf("origin of function.bindings[toUpper|addTax-in-0] = %q", o)
		}
		if o := originOf(c.Origins, "stream.bindings.flaky-in-0.consumer.retryable-exceptions.java.lang.IllegalStateException"); o != "application.properties:15" {
			t.Errorf("origin of the retryable exception = %q", o)
		}
		fb := lookupPath(l.Raw, []string{"stream", "function", "bindings"}).(map[string]any)
		if _, ok := fb["toUpper|addTax-in-0"]; !ok {
			t.Errorf("Raw function.bindings = %v, want the keys as written", fb)
		}
	})
	t.Run("yaml", func(t *testing.T) {
		c := mustLoad(t, Options{Dir: "testdata/mapkeys-yaml"}).Stream
		if want := map[string]string{"toUpper-in-0": "upIn", "toUpper-out-0": "upOut"}; !reflect.DeepEqual(c.Function.Bindings, want) {
			t.Errorf("function.bindings = %v, want %v", c.Function.Bindings, want)
		}
		s := c.Binding("sink-in-0").Consumer
		if s.MaxAttempts != 2 || !reflect.DeepEqual(s.RetryableExceptions, map[string]bool{"java.lang.IllegalStateException": false}) {
			t.Errorf("sink-in-0 consumer = %+v", s)
		}
	})
}
