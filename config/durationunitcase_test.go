package config

import (
	"testing"
	"time"
)

// Spring Boot's simple duration form takes its unit in any case:
// DurationStyle.SIMPLE matches [a-zA-Z]{0,2} and Unit.fromSuffix compares
// with equalsIgnoreCase, so 10S is ten seconds, 2M two minutes, 500MS
// half a second and 1D a day. streambind refused them.
func TestDurationUnitInUpperCase(t *testing.T) {
	const yaml = `spring.cloud.stream:
  bindings:
    a-in-0:
      consumer: { back-off-initial-interval: 500MS, back-off-max-interval: 2M }
    b-in-0:
      consumer: { back-off-initial-interval: 10S, back-off-max-interval: 1D }
  bindings.a-out-0.producer.poller.fixed-delay: 3H
`
	l := mustLoad(t, Options{Data: []byte(yaml), Logger: discard, Env: []string{}})
	if c := l.Stream.Bindings["a-in-0"].Consumer; c.BackOffInitialInterval != 500*time.Millisecond || c.BackOffMaxInterval != 2*time.Minute {
		t.Errorf("500MS, 2M read as %v, %v", c.BackOffInitialInterval, c.BackOffMaxInterval)
	}
	if c := l.Stream.Bindings["b-in-0"].Consumer; c.BackOffInitialInterval != 10*time.Second || c.BackOffMaxInterval != 24*time.Hour {
		t.Errorf("10S, 1D read as %v, %v", c.BackOffInitialInterval, c.BackOffMaxInterval)
	}
	if got := l.Stream.Bindings["a-out-0"].Producer.Poller.FixedDelay; got != 3*time.Hour {
		t.Errorf("3H read as %v", got)
	}
}
