package config

import (
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

const tickFn = "spring.cloud.function.definition: tick\n"

// tickPoller is the poller binding tick-out-0 gets, after merging.
func tickPoller(l *Loaded) stream.PollerConfig { return l.Stream.Binding("tick-out-0").Producer.Poller }

// poller returns stream.PollerConfig's defaults with the fields f sets.
func poller(f func(p *stream.PollerConfig)) stream.PollerConfig {
	p := stream.PollerConfig{FixedDelay: stream.DefaultPollerFixedDelay, MaxMessagesPerPoll: stream.DefaultPollerMaxMessagesPerPoll}
	if f != nil {
		f(&p)
	}
	return p
}

func warningTexts(l *Loaded) []string {
	var ws []string
	for _, w := range l.Warnings {
		ws = append(ws, w.Error())
	}
	return ws
}

// wantOneProblem loads yaml and wants one problem starting with want.
func wantOneProblem(t *testing.T, opts Options, want string) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = discard
	}
	es := configErrors(t, opts)
	if len(es) != 1 || !strings.HasPrefix(es[0].Error(), want) {
		t.Errorf("got %v\nwant one problem starting %q", es, want)
	}
}

// TestBindingPollerKeys: SCSt's producer.poller (ProducerProperties.
// PollerProperties) has max-messages-per-poll, cron and initial-delay
// beside fixed-delay, and Spring Integration's has fixed-rate. They were
// refused (cron, max-messages-per-poll but 1) or ignored with a warning
// (initial-delay); now they are stream.PollerConfig's keys, under a binding
// and under stream.default, in every spelling. receive-timeout (for
// polling consumers only) is accepted and dropped.
func TestBindingPollerKeys(t *testing.T) {
	want := poller(func(p *stream.PollerConfig) {
		p.FixedDelay, p.FixedRate, p.InitialDelay, p.MaxMessagesPerPoll, p.Cron = 2*time.Second, 3*time.Second, 500*time.Millisecond, 10, "*/5 * * * * *"
	})
	for _, prefix := range []string{"spring.cloud.stream.bindings.tick-out-0.producer.poller", "spring.cloud.stream.default.producer.poller"} {
		stem := strings.TrimPrefix(prefix, "spring.cloud.")
		t.Run(stem, func(t *testing.T) {
			l := loadApp(t, tickFn+prefix+":\n  fixedDelay: 2s\n  fixed-rate: 3000\n  initialDelay: 500\n  maxMessagesPerPoll: 10\n  cron: '*/5 * * * * *'\n  receive-timeout: 1s\n")
			if got := tickPoller(l); got != want || len(l.Warnings) != 0 {
				t.Errorf("poller %+v, warnings %v\nwant %+v", got, l.Warnings, want)
			}
			for key, line := range map[string]string{"fixed-rate": "4", "initial-delay": "5", "max-messages-per-poll": "6", "cron": "7"} {
				if o := l.Stream.Origins[stem+"."+key]; o != "application.yaml:"+line {
					t.Errorf("origin of %s: %q", key, o)
				}
			}
			if got := tickPoller(loadApp(t, tickFn+prefix+".max-messages-per-poll: -1\n")).MaxMessagesPerPoll; got != -1 {
				t.Errorf("max-messages-per-poll -1 (no limit) read as %d", got)
			}
			wantOneProblem(t, Options{Data: []byte(tickFn + prefix + ":\n  max-messages-per-poll: 0\n")},
				prefix+".max-messages-per-poll (application.yaml:3): must not be 0") // the key as written
			// The cron expression is checked by stream's Validate: its
			// problem names the key and its line.
			wantOneProblem(t, Options{Data: []byte(tickFn + prefix + ":\n  fixed-delay: 2s\n  cron: '0 0 * * *'\n")},
				prefix+".cron (application.yaml:4): cron \"0 0 * * *\": has 5 fields, want 6")
			wantOneProblem(t, Options{Data: []byte(tickFn + prefix + ":\n  fixed-rate: -1s\n")},
				prefix+".fixed-rate (application.yaml:3): must not be negative")
		})
	}
	// A binding's key wins over stream.default's, key by key.
	l := loadApp(t, tickFn+"spring.cloud.stream:\n  default.producer.poller: { max-messages-per-poll: 5, initial-delay: 1s }\n  bindings.tick-out-0.producer.poller.initial-delay: 2s\n")
	if got, want := tickPoller(l), poller(func(p *stream.PollerConfig) { p.MaxMessagesPerPoll, p.InitialDelay = 5, 2*time.Second }); got != want {
		t.Errorf("poller %+v, want %+v", got, want)
	}
}

// TestBindingPollerKeysPropertiesAndEnv: the same keys in a .properties
// file and in environment variables (SCSt's relaxed spellings).
func TestBindingPollerKeysPropertiesAndEnv(t *testing.T) {
	props := "spring.cloud.function.definition=tick\n" +
		"spring.cloud.stream.bindings.tick-out-0.producer.poller.maxMessagesPerPoll=4\n" +
		"spring.cloud.stream.bindings.tick-out-0.producer.poller.cron=0 */10 * * * MON-FRI\n" +
		"spring.cloud.stream.default.producer.poller.fixed-rate=250\n"
	l := mustLoad(t, Options{Name: "application.properties", File: "application.properties", Data: []byte(props)})
	// Key by key from stream.default, as SCSt binds them (the cron wins
	// over the fixed-rate when the poller runs).
	want := poller(func(p *stream.PollerConfig) {
		p.MaxMessagesPerPoll, p.Cron, p.FixedRate = 4, "0 */10 * * * MON-FRI", 250*time.Millisecond
	})
	if got := tickPoller(l); got != want {
		t.Errorf(".properties: poller %+v, want %+v", got, want)
	}
	if o := l.Stream.Origins["stream.bindings.tick-out-0.producer.poller.cron"]; o != "application.properties:3" {
		t.Errorf("origin of cron %q", o)
	}
	wantOneProblem(t, Options{Name: "application.properties", File: "application.properties", Data: []byte(props + "spring.cloud.stream.default.producer.poller.cron=0 0 0 31 2 *\n")},
		"spring.cloud.stream.default.producer.poller.cron (application.properties:5): ") // as written

	l = loadApp(t, tickFn,
		"SPRING_CLOUD_STREAM_BINDINGS_TICK_OUT_0_PRODUCER_POLLER_MAXMESSAGESPERPOLL=5",
		"STREAM_BINDINGS_TICK_OUT_0_PRODUCER_POLLER_INITIAL_DELAY=2s",
		"STREAM_DEFAULT_PRODUCER_POLLER_CRON=@hourly")
	want = poller(func(p *stream.PollerConfig) {
		p.MaxMessagesPerPoll, p.InitialDelay, p.Cron = 5, 2*time.Second, "@hourly"
	})
	if got := tickPoller(l); got != want {
		t.Errorf("env: poller %+v, want %+v", got, want)
	}
	if o := l.Stream.Origins["stream.bindings.tick-out-0.producer.poller.max-messages-per-poll"]; o != "env SPRING_CLOUD_STREAM_BINDINGS_TICK_OUT_0_PRODUCER_POLLER_MAXMESSAGESPERPOLL" {
		t.Errorf("origin %q", o)
	}
}

// TestStreamPoller: SCSt's application-wide spring.cloud.stream.poller
// (DefaultPollerProperties) gives each of its keys as the default of the
// binding's producer.poller key, a bare number of fixed-delay or
// initial-delay counted in its time-unit. Only fixed-delay was read;
// cron and max-messages-per-poll but 1 were refused, initial-delay was
// ignored with a warning, time-unit was an unknown key.
func TestStreamPoller(t *testing.T) {
	const sp = "spring.cloud.stream.poller"
	for _, tc := range []struct {
		name, yaml string
		want       stream.PollerConfig
	}{
		{"every key", sp + ":\n  fixedDelay: 5000\n  maxMessagesPerPoll: 3\n  initial-delay: 100\n  receive-timeout: 1000\n",
			poller(func(p *stream.PollerConfig) {
				p.FixedDelay, p.MaxMessagesPerPoll, p.InitialDelay = 5*time.Second, 3, 100*time.Millisecond
			})},
		{"cron", sp + ".cron: '0 0 * * * *'\n", poller(func(p *stream.PollerConfig) { p.Cron = "0 0 * * * *" })},
		{"time-unit", sp + ": { fixed-delay: 5, initial-delay: 2, time-unit: SECONDS }\n",
			poller(func(p *stream.PollerConfig) { p.FixedDelay, p.InitialDelay = 5*time.Second, 2*time.Second })},
		{"time-unit, any case", sp + ": { fixedDelay: '3', timeUnit: minutes }\n", poller(func(p *stream.PollerConfig) { p.FixedDelay = 3 * time.Minute })},
		{"time-unit, a duration as written", sp + ": { fixed-delay: 500ms, initial-delay: 1, time-unit: DAYS }\n",
			poller(func(p *stream.PollerConfig) { p.FixedDelay, p.InitialDelay = 500*time.Millisecond, 24*time.Hour })},
		{"time-unit, nanoseconds", sp + ": { fixed-delay: 1500, time-unit: NANOSECONDS }\n", poller(func(p *stream.PollerConfig) { p.FixedDelay = 1500 })},
		{"time-unit alone", sp + ".time-unit: SECONDS\n", poller(nil)},
		{"the same in stream.default", sp + ": { fixed-delay: 2000, max-messages-per-poll: 3 }\nspring.cloud.stream.default.producer.poller: { fixed-delay: 2s, max-messages-per-poll: 3 }\n",
			poller(func(p *stream.PollerConfig) { p.FixedDelay, p.MaxMessagesPerPoll = 2*time.Second, 3 })},
		// SCSt builds a binding's poller from its PollerProperties alone
		// once any key is set: nothing comes from the application-wide one.
		{"a binding's own is whole", sp + ": { max-messages-per-poll: 3, initial-delay: 1000 }\nspring.cloud.stream.bindings.tick-out-0.producer.poller.max-messages-per-poll: 7\n",
			poller(func(p *stream.PollerConfig) { p.MaxMessagesPerPoll = 7 })},
		// stream.default.producer.poller (SCSt's default binding poller) wins
		// over the application-wide one, as in SCSt: two settings, not two
		// spellings of one, so no error.
		{"stream.default's wins", sp + ".max-messages-per-poll: 3\nspring.cloud.stream.default.producer.poller.max-messages-per-poll: 4\n",
			poller(func(p *stream.PollerConfig) { p.MaxMessagesPerPoll = 4 })},
		{"stream.default's cron wins", sp + ".cron: '0 0 * * * *'\nspring.cloud.stream.default.producer.poller.cron: '0 30 * * * *'\n",
			poller(func(p *stream.PollerConfig) { p.Cron = "0 30 * * * *" })},
		{"stream.default's fixed-delay wins over a cron", sp + ".cron: '0 0 * * * *'\nspring.cloud.stream.default.producer.poller.fixed-delay: 5s\n",
			poller(func(p *stream.PollerConfig) { p.FixedDelay = 5 * time.Second })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := loadApp(t, tickFn+tc.yaml)
			if got := tickPoller(l); got != tc.want || len(l.Warnings) != 0 {
				t.Errorf("poller %+v, warnings %v\nwant %+v", got, l.Warnings, tc.want)
			}
		})
	}
	wantPollerOrigins(t, loadApp(t, tickFn+sp+":\n  max-messages-per-poll: 3\n  cron: '0 0 * * * *'\n"), map[string]string{
		"max-messages-per-poll": "application.yaml:3",
		"cron":                  "application.yaml:4",
	})

	for _, tc := range []struct{ name, yaml, want string }{
		{"bad time-unit", sp + ":\n  fixed-delay: 5\n  time-unit: SECS\n",
			"spring.cloud.stream.poller.time-unit (application.yaml:4): expected a java.util.concurrent.TimeUnit: NANOSECONDS, MICROSECONDS, MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS"},
		{"out of range", sp + ": { fixed-delay: 200000000, time-unit: DAYS }\n", "spring.cloud.stream.poller.fixed-delay (application.yaml:2): 200000000 (time-unit DAYS) is out of range"},
		{"cron and fixed-delay", sp + ":\n  fixed-delay: 5000\n  cron: '0 0 * * * *'\n",
			"spring.cloud.stream.poller.cron (application.yaml:4): is set and so is stream.poller.fixed-delay (application.yaml:3): SCSt (3.2 and later) copies"},
		{"bad cron", sp + ":\n  cron: '0 0 * * *'\n", `spring.cloud.stream.poller.cron (application.yaml:3): cron "0 0 * * *": has 5 fields, want 6`},
		{"max-messages-per-poll 0", sp + ":\n  max-messages-per-poll: 0\n", "spring.cloud.stream.poller.max-messages-per-poll (application.yaml:3): must not be 0"},
		{"unknown key", sp + ":\n  initial-dalay: 3\n", "spring.cloud.stream.poller.initial-dalay (application.yaml:3): unknown key of stream.poller (it has fixed-delay, fixed-rate, max-messages-per-poll, cron, initial-delay, time-unit and receive-timeout); did you mean"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantOneProblem(t, Options{Data: []byte(tickFn + tc.yaml)}, tc.want) })
	}

	// The .properties form.
	props := "spring.cloud.function.definition=tick\nspring.cloud.stream.poller.fixedDelay=5\nspring.cloud.stream.poller.timeUnit=SECONDS\nspring.cloud.stream.poller.maxMessagesPerPoll=2\n"
	l := mustLoad(t, Options{Name: "application.properties", File: "application.properties", Data: []byte(props)})
	if got, want := tickPoller(l), poller(func(p *stream.PollerConfig) { p.FixedDelay, p.MaxMessagesPerPoll = 5*time.Second, 2 }); got != want {
		t.Errorf(".properties: poller %+v, want %+v", got, want)
	}
	wantOneProblem(t, Options{Name: "application.properties", File: "application.properties", Data: []byte(strings.Replace(props, "=SECONDS", "=WEEKS", 1))},
		"spring.cloud.stream.poller.timeUnit (application.properties:3): expected a java.util.concurrent.TimeUnit")
}

// TestIntegrationPoller: SCSt 3.2 and later read polled suppliers' default
// poller from Spring Integration's spring.integration.poller.* (and copy
// spring.cloud.stream.poller.* there only where it is not set). Its
// fixed-delay was read (fixed-rate as fixed-delay, with a warning); now
// each of its keys gives the default of the binding's, unless
// stream.default.producer.poller sets it.
func TestIntegrationPoller(t *testing.T) {
	const ip = "spring.integration.poller"
	for _, tc := range []struct {
		name, yaml string
		want       stream.PollerConfig
		warning    string
	}{
		{"fixed-delay", ip + ".fixed-delay: 5000\n", poller(func(p *stream.PollerConfig) { p.FixedDelay = 5 * time.Second }), ""},
		{"a duration", "spring:\n  integration:\n    poller:\n      fixedDelay: 2s\n", poller(func(p *stream.PollerConfig) { p.FixedDelay = 2 * time.Second }), ""},
		{"fixed-rate", ip + ".fixed-rate: 7s\n", poller(func(p *stream.PollerConfig) { p.FixedRate = 7 * time.Second }), ""},
		{"every key", ip + ": { fixed-rate: 5s, initial-delay: 10s, maxMessagesPerPoll: -1, receive-timeout: 1s }\n",
			poller(func(p *stream.PollerConfig) {
				p.FixedRate, p.InitialDelay, p.MaxMessagesPerPoll = 5*time.Second, 10*time.Second, -1
			}), ""},
		{"cron", ip + ".cron: '0 0 9-17 * * MON-FRI'\n", poller(func(p *stream.PollerConfig) { p.Cron = "0 0 9-17 * * MON-FRI" }), ""},
		{"over spring.cloud.stream.poller", ip + ".fixed-delay: 5s\nspring.cloud.stream.poller.fixed-delay: 2s\n", poller(func(p *stream.PollerConfig) { p.FixedDelay = 5 * time.Second }),
			"stream.poller.fixed-delay (application.yaml:3): ignored: spring.integration.poller.fixed-delay is set, and SCSt reads that one"},
		{"over spring.cloud.stream.poller, max-messages-per-poll", ip + ".max-messages-per-poll: 5\nspring.cloud.stream.poller: { max-messages-per-poll: 3, initial-delay: 100 }\n",
			poller(func(p *stream.PollerConfig) { p.MaxMessagesPerPoll, p.InitialDelay = 5, 100*time.Millisecond }),
			"stream.poller.max-messages-per-poll (application.yaml:3): ignored: spring.integration.poller.max-messages-per-poll is set, and SCSt reads that one"},
		{"over spring.cloud.stream.poller, cron", ip + ".cron: '0 0 * * * *'\nspring.cloud.stream.poller.cron: '0 30 * * * *'\n",
			poller(func(p *stream.PollerConfig) { p.Cron = "0 0 * * * *" }),
			"stream.poller.cron (application.yaml:3): ignored: spring.integration.poller.cron is set"},
		{"under a binding default", ip + ".fixed-delay: 5s\nspring.cloud.stream.default.producer.poller.fixed-delay: 3s\n", poller(func(p *stream.PollerConfig) { p.FixedDelay = 3 * time.Second }), ""},
		{"under the binding's own", ip + ".fixed-delay: 5s\nspring.cloud.stream.bindings.tick-out-0.producer.poller.fixed-delay: 4s\n", poller(func(p *stream.PollerConfig) { p.FixedDelay = 4 * time.Second }), ""},
		{"a binding default takes nothing from it", ip + ": { max-messages-per-poll: 5, initial-delay: 2s }\nspring.cloud.stream.default.producer.poller.max-messages-per-poll: 3\n",
			poller(func(p *stream.PollerConfig) { p.MaxMessagesPerPoll = 3 }), ""},
		// stream.default's schedule is taken whole: the cron (which would
		// win over any fixed-delay) is not added to its fixed-delay.
		{"a binding default's schedule is whole", ip + ".cron: '0 0 * * * *'\nspring.cloud.stream.default.producer.poller.fixed-delay: 3s\n",
			poller(func(p *stream.PollerConfig) { p.FixedDelay = 3 * time.Second }), ""},
		{"a blank cron is none", ip + ": { cron: '', fixed-delay: 5s }\n", poller(func(p *stream.PollerConfig) { p.FixedDelay = 5 * time.Second }), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := loadApp(t, tickFn+tc.yaml)
			if got := tickPoller(l); got != tc.want {
				t.Errorf("poller %+v, want %+v", got, tc.want)
			}
			ws := warningTexts(l)
			if tc.warning == "" && len(ws) != 0 || tc.warning != "" && (len(ws) != 1 || !strings.HasPrefix(ws[0], tc.warning)) {
				t.Errorf("warnings %q, want %q", ws, tc.warning)
			}
		})
	}
	wantPollerOrigins(t, loadApp(t, tickFn+ip+":\n  fixed-rate: 5000\n  maxMessagesPerPoll: 2\n"), map[string]string{
		"fixed-rate":            "application.yaml:3 (spring.integration.poller.fixed-rate)",
		"max-messages-per-poll": "application.yaml:4 (spring.integration.poller.maxmessagesperpoll)",
	})

	for _, tc := range []struct{ name, yaml, want string }{
		{"fixed-delay and fixed-rate", ip + ":\n  fixed-delay: 5s\n  fixed-rate: 5s\n",
			"spring.integration.poller.fixed-rate (application.yaml:4): is set and so is spring.integration.poller.fixed-delay (application.yaml:3): Spring Boot refuses more than one of cron, fixed-delay and fixed-rate"},
		{"cron and fixed-delay", ip + ":\n  cron: '0 0 * * * *'\n  fixed-delay: 5s\n",
			"spring.integration.poller.cron (application.yaml:3): is set and so is spring.integration.poller.fixed-delay (application.yaml:4): Spring Boot refuses"},
		{"cron and fixed-rate", ip + ":\n  fixed-rate: 5s\n  cron: '0 0 * * * *'\n",
			"spring.integration.poller.cron (application.yaml:4): is set and so is spring.integration.poller.fixed-rate (application.yaml:3): Spring Boot refuses"},
		{"cron over spring.cloud.stream.poller's fixed-delay", ip + ".cron: '0 0 * * * *'\nspring.cloud.stream.poller.fixed-delay: 5000\n",
			"spring.cloud.stream.poller.fixed-delay (application.yaml:3): is set and so is spring.integration.poller.cron (application.yaml:2): SCSt (3.2 and later) copies spring.cloud.stream.poller into spring.integration.poller"},
		{"bad cron", ip + ":\n  cron: '0 0 * * * FOO'\n", `spring.integration.poller.cron (application.yaml:3): cron "0 0 * * * FOO": day-of-week field`},
		{"max-messages-per-poll 0", ip + ".max-messages-per-poll: 0\n", "spring.integration.poller.max-messages-per-poll (application.yaml:2): must not be 0"},
		{"not a duration", ip + ".fixed-delay: soon\n", "spring.integration.poller.fixed-delay (application.yaml:2): expected a duration"},
		{"negative", ip + ".initial-delay: -5s\n", "spring.integration.poller.initial-delay (application.yaml:2): must not be negative, got -5s"},
		{"not a map", ip + ": 5s\n", "spring.integration.poller (application.yaml:2): expected a map of poller settings"},
		// An error where Spring Boot is silent: a misspelt schedule key
		// would leave the supplier polled every second.
		{"an unknown key", ip + ".fixed-dealy: 5s\n", "spring.integration.poller.fixed-dealy (application.yaml:2): unknown key of spring.integration.poller (it has cron, fixed-delay, fixed-rate, initial-delay, max-messages-per-poll and receive-timeout); did you mean fixed-delay?"},
		{"time-unit", ip + ": { fixed-delay: 2, time-unit: SECONDS }\n", "spring.integration.poller.time-unit (application.yaml:2): unknown key of spring.integration.poller: time-unit is spring.cloud.stream.poller's"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantOneProblem(t, Options{Data: []byte(tickFn + tc.yaml)}, tc.want) })
	}

	// The .properties form, and an environment variable over a file's key.
	props := "spring.cloud.function.definition=tick\nspring.integration.poller.fixed-rate=250\nspring.integration.poller.max-messages-per-poll=3\n"
	l := mustLoad(t, Options{Name: "application.properties", File: "application.properties", Data: []byte(props)})
	if got, want := tickPoller(l), poller(func(p *stream.PollerConfig) { p.FixedRate, p.MaxMessagesPerPoll = 250*time.Millisecond, 3 }); got != want {
		t.Errorf(".properties: poller %+v, want %+v", got, want)
	}
	wantOneProblem(t, Options{Name: "application.properties", File: "application.properties", Data: []byte(props + "spring.integration.poller.cron=0 0 * * * *\n")},
		"spring.integration.poller.cron (application.properties:4): is set and so is spring.integration.poller.fixed-rate (application.properties:2)")
	l = loadApp(t, tickFn+ip+".fixed-delay: 5s\n", "SPRING_INTEGRATION_POLLER_FIXED_DELAY=7000")
	if got := tickPoller(l).FixedDelay; got != 7*time.Second {
		t.Errorf("env: fixed-delay %v", got)
	}
	if o := l.Stream.Origins["stream.poller.fixed-delay"]; !strings.HasPrefix(o, "env SPRING_INTEGRATION_POLLER_FIXED_DELAY") {
		t.Errorf("env: origin %q", o)
	}
	// A variable sets it with no file mentioning it, as in Spring Boot
	// (a Kubernetes deployment's environment).
	l = loadApp(t, tickFn, "SPRING_INTEGRATION_POLLER_FIXEDRATE=250", "SPRING_INTEGRATION_POLLER_MAX_MESSAGES_PER_POLL=4")
	if got, want := tickPoller(l), poller(func(p *stream.PollerConfig) { p.FixedRate, p.MaxMessagesPerPoll = 250*time.Millisecond, 4 }); got != want || len(l.Warnings) != 0 {
		t.Errorf("env only: poller %+v, warnings %v\nwant %+v", got, l.Warnings, want)
	}
	if o := l.Stream.Origins["stream.poller.fixed-rate"]; !strings.HasPrefix(o, "env SPRING_INTEGRATION_POLLER_FIXEDRATE (") {
		t.Errorf("env only: origin %q", o)
	}
}

// TestStreamPollerEnv: SCSt's application-wide poller set by environment
// variables (Spring Boot's relaxed binding), with or without a file key;
// before, SPRING_CLOUD_STREAM_POLLER_* was taken for a binder section and
// ignored.
func TestStreamPollerEnv(t *testing.T) {
	l := loadApp(t, tickFn, "SPRING_CLOUD_STREAM_POLLER_CRON=*/5 * * * * *", "STREAM_POLLER_MAX_MESSAGES_PER_POLL=2", "SPRING_CLOUD_STREAM_POLLER_INITIALDELAY=7")
	want := poller(func(p *stream.PollerConfig) {
		p.Cron, p.MaxMessagesPerPoll, p.InitialDelay = "*/5 * * * * *", 2, 7*time.Millisecond
	})
	if got := tickPoller(l); got != want {
		t.Errorf("poller %+v, want %+v", got, want)
	}
	if o := l.Stream.Origins["stream.poller.cron"]; !strings.Contains(o, "env SPRING_CLOUD_STREAM_POLLER_CRON") {
		t.Errorf("origin of cron %q", o)
	}
	// A variable overrides the file's key; time-unit too.
	l = loadApp(t, tickFn+"spring.cloud.stream.poller.fixed-delay: 50\n", "SPRING_CLOUD_STREAM_POLLER_FIXED_DELAY=3", "SPRING_CLOUD_STREAM_POLLER_TIME_UNIT=seconds")
	if got := tickPoller(l).FixedDelay; got != 3*time.Second {
		t.Errorf("fixed-delay %s, want 3s", got)
	}
	// A misspelt key is reported, not ignored.
	_, err := Load(Options{Data: []byte(tickFn), Env: []string{"SPRING_CLOUD_STREAM_POLLER_FIXED_DELAI=3"}})
	if err == nil {
		t.Fatal("SPRING_CLOUD_STREAM_POLLER_FIXED_DELAI: no error")
	}
	t.Log(err)
}

// SPRING_CLOUD_STREAM_SOURCE (SCSt's output bindings list) is read as the
// file's key is; before, it was ignored without a word.
func TestStreamSourceEnv(t *testing.T) {
	l := loadApp(t, "spring.cloud.function.definition: x\n", "SPRING_CLOUD_STREAM_SOURCE=audit;orders")
	if got := l.Stream.OutputBindings; got != "audit-out-0;orders-out-0" {
		t.Errorf("output-bindings %q", got)
	}
}

// An unquoted cron expression is a YAML alias: the error says to quote it.
func TestUnquotedCronHint(t *testing.T) {
	for _, v := range []string{"*/2 * * * * *", "* * * * * *"} {
		_, err := Load(Options{Data: []byte(tickFn + "spring.cloud.stream.bindings.tick-out-0.producer.poller.cron: " + v + "\n"), Env: []string{}})
		if err == nil || !strings.Contains(err.Error(), `application.yaml:2: malformed YAML`) || !strings.Contains(err.Error(), "quote it") {
			t.Errorf("cron: %s: %v", v, err)
		}
	}
}

// wantPollerOrigins checks the origins of stream.poller's keys.
func wantPollerOrigins(t *testing.T, l *Loaded, want map[string]string) {
	t.Helper()
	for key, w := range want {
		if o := l.Stream.Origins["stream.poller."+key]; o != w {
			t.Errorf("origin of %s: %q, want %q", key, o, w)
		}
	}
}
