package config

import "testing"

// TestComposedBindingFromEnv: a variable can spell a composed function's
// binding only without the '|' (SCSt's own name for it, ab-in-0:
// SPRING_CLOUD_STREAM_BINDINGS_AB_IN_0_DESTINATION). It made a second
// binding, uppercasereverse-in-0, beside the file's uppercase|reverse-in-0,
// which the app warned "not bound" about, and the override was lost.
func TestComposedBindingFromEnv(t *testing.T) {
	const file = `spring.cloud.function.definition: uppercase|reverse;logIt
spring.cloud.stream.bindings:
  uppercase|reverse-in-0: { destination: words, group: g }
`
	const bare = "spring.cloud.function.definition: uppercase|reverse;logIt\n"
	// Spring Cloud Function reads ',' as '|': the same composition.
	const comma = "spring.cloud.function.definition: uppercase,reverse;logIt\n"
	for _, tc := range []struct{ name, yaml string }{{"declared in the file", file}, {"from the definition only", bare}, {"composed with ','", comma}} {
		t.Run(tc.name, func(t *testing.T) {
			c := loadApp(t, tc.yaml,
				"SPRING_CLOUD_STREAM_BINDINGS_UPPERCASEREVERSE_IN_0_DESTINATION=envwords",
				"STREAM_BINDINGS_UPPERCASEREVERSE_OUT_0_DESTINATION=loud").Stream
			if got := c.Binding("uppercase|reverse-in-0").Destination; got != "envwords" {
				t.Errorf("uppercase|reverse-in-0's destination %q, want envwords", got)
			}
			if got := c.Binding("uppercase|reverse-out-0").Destination; got != "loud" {
				t.Errorf("uppercase|reverse-out-0's destination %q, want loud", got)
			}
			for n := range c.Bindings {
				if n != "uppercase|reverse-in-0" && n != "uppercase|reverse-out-0" {
					t.Errorf("a binding %q besides the composition's", n)
				}
			}
			if o := c.Origins["stream.bindings.uppercase|reverse-in-0.destination"]; o != "env SPRING_CLOUD_STREAM_BINDINGS_UPPERCASEREVERSE_IN_0_DESTINATION" {
				t.Errorf("origin %q", o)
			}
		})
	}
}
