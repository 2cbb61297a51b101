package config

import (
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// TestBreakBindingPollerReplacesIntegrationPoller: the config layer reads
// spring.integration.poller key by key under a binding's (and
// stream.default's) producer.poller (config/poller.go, docs: "A polled
// supplier's poller is read key by key"), and the commit says that is how
// SCSt's binding poller stands over spring.integration.poller. It is not:
// in SCSt (FunctionConfiguration.integrationFlowFromProvidedSupplier) a
// binding whose producer.poller is set at all (ProducerProperties.poller,
// null unless a producer.poller key is set, for the binding or through
// spring.cloud.stream.default) gets a PollerMetadata built from that
// PollerProperties alone — its unset keys at PollerProperties' defaults
// (fixed-delay 1s, max-messages-per-poll 1, initial-delay 0, no cron) —
// and spring.integration.poller (Spring Boot's default PollerMetadata) is
// used only by a binding with no producer.poller at all. So an SCSt
// service with spring.integration.poller.max-messages-per-poll: -1 (or a
// fixed-rate, or an initial-delay) for its other adapters and one
// supplier binding with producer.poller.fixed-delay: 2s polls that
// supplier once every 2s from the start in SCSt, but here drains it
// without limit, on another schedule, or after a delay. Expected: a
// binding (or stream.default) that sets any producer.poller key takes
// nothing from spring.integration.poller / spring.cloud.stream.poller.
// Fix: in scstPollers, apply the application-wide pollers only to
// bindings with no producer.poller key of their own and none in
// stream.default (e.g. apply them as a separate layer consulted only when
// the binding's merged poller section is empty).
func TestBreakBindingPollerReplacesIntegrationPoller(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       stream.PollerConfig
	}{
		{"binding fixed-delay under integration's max-messages-per-poll and initial-delay",
			"spring.integration.poller: { max-messages-per-poll: -1, initial-delay: 10s }\nspring.cloud.stream.bindings.tick-out-0.producer.poller.fixed-delay: 2s\n",
			poller(func(p *stream.PollerConfig) { p.FixedDelay = 2 * time.Second })},
		{"binding max-messages-per-poll under integration's fixed-rate",
			"spring.integration.poller.fixed-rate: 5s\nspring.cloud.stream.bindings.tick-out-0.producer.poller.max-messages-per-poll: 2\n",
			poller(func(p *stream.PollerConfig) { p.MaxMessagesPerPoll = 2 })},
		{"stream.default max-messages-per-poll under integration's initial-delay",
			"spring.integration.poller: { max-messages-per-poll: 5, initial-delay: 2s }\nspring.cloud.stream.default.producer.poller.max-messages-per-poll: 3\n",
			poller(func(p *stream.PollerConfig) { p.MaxMessagesPerPoll = 3 })},
		{"binding cron under stream.poller's max-messages-per-poll",
			"spring.cloud.stream.poller.max-messages-per-poll: 10\nspring.cloud.stream.bindings.tick-out-0.producer.poller.cron: '0 * * * * *'\n",
			poller(func(p *stream.PollerConfig) { p.Cron = "0 * * * * *" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tickPoller(loadApp(t, tickFn+tc.yaml)); got != tc.want {
				t.Errorf("poller %+v\nwant %+v (SCSt: the binding's PollerProperties whole, at their defaults where unset)", got, tc.want)
			}
		})
	}
}

// TestBreakPollerExplicitZeroFixedRate: an explicit 0 of a defaulted
// poller key is refused ("0 stands for \"not set\"": fixed-delay 0 and
// max-messages-per-poll 0 are, at the binding, at stream.default and at
// spring.integration.poller), but fixed-rate 0 is silently read as "no
// fixed-rate": the poller then runs on fixed-delay 1s, or, under a
// stream.default cron, on that cron although the binding wrote a schedule
// of its own. Spring Boot reads spring.integration.poller.fixed-rate: 0 as
// a PeriodicTrigger of period 0 at a fixed rate (IntegrationAutoConfiguration
// createPeriodicTrigger; Spring's PeriodicTrigger accepts 0: polls back to
// back), not as "unset", so an SCSt file with it changes behaviour here
// without a word. Expected: one problem naming the key, as for
// fixed-delay 0. Fix: check fixed-rate with nonZero like fixed-delay, and
// in checkPollerValue refuse 0 for fixed-rate.
func TestBreakPollerExplicitZeroFixedRate(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"spring.cloud.stream.bindings.tick-out-0.producer.poller.fixed-rate: 0\n", "stream.bindings.tick-out-0.producer.poller.fixed-rate (application.yaml:2): must not be 0"},
		{"spring.cloud.stream.default.producer.poller.cron: '0 * * * * *'\nspring.cloud.stream.bindings.tick-out-0.producer.poller.fixed-rate: 0s\n", "stream.bindings.tick-out-0.producer.poller.fixed-rate (application.yaml:3): must not be 0"},
		{"spring.integration.poller.fixed-rate: 0\n", "spring.integration.poller.fixed-rate (application.yaml:2): must not be 0"},
	} {
		l, err := Load(Options{Data: []byte(tickFn + tc.yaml), Env: []string{}, Logger: discard})
		if err == nil {
			t.Errorf("%q: no error (poller %+v), want one problem like %q", tc.yaml, tickPoller(l), tc.want)
		} else if !strings.Contains(err.Error(), "fixed-rate") || !strings.Contains(err.Error(), "must not be 0") {
			t.Errorf("%q: got %v, want one problem like %q", tc.yaml, err, tc.want)
		}
	}
}

// TestBreakPollerDuplicateSpellings: a binding's producer.poller with the
// same key in two spellings (fixedDelay and fixed-delay) is refused
// ("duplicate key"), but spring.integration.poller and
// spring.cloud.stream.poller take one of the two silently (the later in
// sorted key order: fixedDelay), so which value runs depends on how the
// keys sort. Expected: the same duplicate-key problem. Fix: in
// integrationPoller, report a canonical key seen twice.
func TestBreakPollerDuplicateSpellings(t *testing.T) {
	for _, yaml := range []string{
		"spring.integration.poller: { fixedDelay: 5s, fixed-delay: 6s }\n",
	} {
		_, err := Load(Options{Data: []byte(tickFn + yaml), Env: []string{}, Logger: discard})
		if err == nil || !strings.Contains(err.Error(), "duplicate") {
			t.Errorf("%q: got error %v, want a duplicate-key problem (one of 5s and 6s was taken silently)", yaml, err)
		}
	}
}
