package main

import (
	"strings"
	"testing"
)

// TestBreak2ConfigNoPollerForUnpolledOutput: `streambind config` shows
// every output binding a producer.poller (bindingValues), and since
// c79200e attributes it to the application-wide poller ("stream.poller at
// application.yaml:2 (spring.integration.poller.fixed-rate)") when the
// binding sets no poller key. Two kinds of output binding the CLI can tell
// apart are never polled:
//   - a binding of stream.output-bindings (spring.cloud.stream.output-bindings:
//     a StreamBridge binding, the CLI's binding.function == ""): the app
//     sends on it only when Bridge.Send is called;
//   - the output of a function that has an input binding (upper-in-0 and
//     upper-out-0): a Function, not a Supplier; its output sends once per
//     input message.
//
// In SCSt too a poller belongs to a Supplier's SourcePollingChannelAdapter
// only (FunctionConfiguration builds one for a Supplier's output binding
// alone). So the output says these bindings send every 5s, as many
// messages as there are (max-messages-per-poll -1), which is not what the
// app does; an operator reading it to see which bindings
// spring.integration.poller drives is misled. Expected: no producer.poller
// keys for these bindings. Fix: in bindingValues, set the producer.poller
// keys (and notePollerSchedule) only for an output that may be a
// supplier's (b.function != "" and no input binding of that function).
func TestBreak2ConfigNoPollerForUnpolledOutput(t *testing.T) {
	const integ = "spring.integration.poller: { fixed-rate: 5s, max-messages-per-poll: -1 }\n"
	for _, tc := range []struct{ name, yaml, binding string }{
		{"bridge output binding", "spring.cloud.stream.output-bindings: audit\n" + integ +
			"spring.cloud.stream.bindings.audit.destination: audit-log\n", "audit"},
		{"function output", "spring.cloud.function.definition: upper\n" + integ +
			"spring.cloud.stream.bindings.upper-in-0.destination: in\nspring.cloud.stream.bindings.upper-out-0.destination: out\n", "upper-out-0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, r := configEntries(t, writeFiles(t, map[string]string{"application.yaml": tc.yaml}), nil)
			if r.code != exitOK {
				t.Fatalf("exit status %d, stderr %q", r.code, r.stderr)
			}
			prefix := "stream.bindings." + tc.binding + "."
			if _, ok := entries[prefix+"destination"]; !ok {
				t.Fatalf("binding %s is not shown", tc.binding)
			}
			for key, e := range entries {
				if strings.HasPrefix(key, prefix+"producer.poller.") {
					t.Errorf("%s = %v (%s): this binding is not polled", key, e.Value, e.Origin)
				}
			}
		})
	}
}
