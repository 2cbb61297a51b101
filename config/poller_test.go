package config

import (
	"strings"
	"testing"
	"time"
)

// TestIntegrationPoller: SCSt 3.2 and later read polled suppliers' default
// poller from Spring Integration's spring.integration.poller.* (and copy
// spring.cloud.stream.poller.* there only where it is not set). The key
// was kept as an application key of its own and read by nobody: a
// supplier configured to run every 5s ran every second.
func TestIntegrationPoller(t *testing.T) {
	const fns = "spring.cloud.function.definition: tick\n"
	delay := func(l *Loaded) time.Duration { return l.Stream.Binding("tick-out-0").Producer.Poller.FixedDelay }
	for _, tc := range []struct {
		name, yaml string
		want       time.Duration
		warning    string
	}{
		{"fixed-delay", "spring.integration.poller.fixed-delay: 5000\n", 5 * time.Second, ""},
		{"a duration", "spring:\n  integration:\n    poller:\n      fixedDelay: 2s\n", 2 * time.Second, ""},
		{"over spring.cloud.stream.poller", "spring.integration.poller.fixed-delay: 5s\nspring.cloud.stream.poller.fixed-delay: 2s\n", 5 * time.Second,
			"stream.poller.fixed-delay (application.yaml:3): ignored: spring.integration.poller.fixed-delay is set, and SCSt reads that one"},
		{"under a binding default", "spring.integration.poller.fixed-delay: 5s\nspring.cloud.stream.default.producer.poller.fixed-delay: 3s\n", 3 * time.Second, ""},
		{"under the binding's own", "spring.integration.poller.fixed-delay: 5s\nspring.cloud.stream.bindings.tick-out-0.producer.poller.fixed-delay: 4s\n", 4 * time.Second, ""},
		{"fixed-rate", "spring.integration.poller.fixed-rate: 7s\n", 7 * time.Second,
			"spring.integration.poller.fixed-rate (application.yaml:2): read as fixed-delay"},
		{"initial-delay", "spring.integration.poller: { fixed-delay: 5s, initial-delay: 10s, max-messages-per-poll: 1, receive-timeout: 1s }\n", 5 * time.Second,
			"spring.integration.poller.initial-delay (application.yaml:2): ignored: a polled supplier is first called at start-up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := loadApp(t, fns+tc.yaml)
			if got := delay(l); got != tc.want {
				t.Errorf("fixed-delay %v, want %v", got, tc.want)
			}
			var ws []string
			for _, w := range l.Warnings {
				ws = append(ws, w.Error())
			}
			if tc.warning == "" && len(ws) != 0 || tc.warning != "" && (len(ws) != 1 || !strings.HasPrefix(ws[0], tc.warning)) {
				t.Errorf("warnings %q, want %q", ws, tc.warning)
			}
		})
	}
	if o := loadApp(t, fns+"spring.integration.poller.fixed-delay: 5000\n").Stream.Origins["stream.default.producer.poller.fixed-delay"]; !strings.HasPrefix(o, "application.yaml:2") {
		t.Errorf("origin %q", o)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"both", "spring.integration.poller: { fixed-delay: 5s, fixed-rate: 5s }\n",
			"spring.integration.poller.fixed-rate (application.yaml:2): is set and so is spring.integration.poller.fixed-delay"},
		{"cron", "spring.integration.poller.cron: '0 0 * * * *'\n",
			"spring.integration.poller.cron (application.yaml:2): is not supported: a polled supplier is called every producer.poller.fixed-delay"},
		{"max-messages-per-poll", "spring.integration.poller.max-messages-per-poll: 10\n",
			"spring.integration.poller.max-messages-per-poll (application.yaml:2): is not supported but at 1"},
		{"not a duration", "spring.integration.poller.fixed-delay: soon\n",
			"spring.integration.poller.fixed-delay (application.yaml:2): expected a duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := configErrors(t, Options{Data: []byte(fns + tc.yaml), Logger: discard})
			if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
				t.Fatalf("got %v\nwant one problem starting %q", es, tc.want)
			}
		})
	}
}

// TestBindingPollerKeys: SCSt's producer.poller has max-messages-per-poll,
// cron and initial-delay beside fixed-delay (ProducerProperties.
// PollerProperties); under a binding or stream.default they were unknown
// keys, with no reason, while the same keys of spring.cloud.stream.poller
// were warnings. They are held to one rule wherever they are: the value
// that asks for what a polled supplier does (max-messages-per-poll 1,
// initial-delay 0) is accepted, cron and more messages per poll are
// refused (they change how often messages are sent), another
// initial-delay is a warning.
func TestBindingPollerKeys(t *testing.T) {
	const fns = "spring.cloud.function.definition: tick\n"
	for _, prefix := range []string{"spring.cloud.stream.bindings.tick-out-0.producer.poller", "spring.cloud.stream.default.producer.poller", "spring.cloud.stream.poller"} {
		stem := strings.TrimPrefix(prefix, "spring.cloud.")
		t.Run(stem, func(t *testing.T) {
			l := loadApp(t, fns+prefix+": { maxMessagesPerPoll: 1, initial-delay: 0, fixed-delay: 2s }\n")
			if len(l.Warnings) != 0 || l.Stream.Binding("tick-out-0").Producer.Poller.FixedDelay != 2*time.Second {
				t.Errorf("warnings %v, poller %+v", l.Warnings, l.Stream.Binding("tick-out-0").Producer.Poller)
			}
			l = loadApp(t, fns+prefix+".initial-delay: 1s\n")
			if len(l.Warnings) != 1 || !strings.HasPrefix(l.Warnings[0].Error(), stem+".initial-delay (application.yaml:2): ignored: ") {
				t.Errorf("warnings %v", l.Warnings)
			}
			for _, kv := range []string{"max-messages-per-poll: 10", "cron: '*/5 * * * * *'"} {
				es := configErrors(t, Options{Data: []byte(fns + prefix + "." + kv + "\n"), Logger: discard})
				k, _, _ := strings.Cut(kv, ":")
				if len(es) != 1 || !strings.HasPrefix(es[0].Error(), stem+"."+k+" (application.yaml:2): is not supported") {
					t.Errorf("%s: got %v", kv, es)
				}
			}
		})
	}
}
