package config

import (
	"testing"
	"time"
)

// A .properties value keeps its trailing blanks ("max-attempts=4 "), and a
// variable may hold them: Spring's number conversion ignores them, and
// streambind's booleans and Spring-style durations did, but its integers,
// numbers and Go durations were refused ("expected an integer, got "4 "").
func TestBlanksAroundNumbersAndDurations(t *testing.T) {
	props := "stream.bindings.x-in-0.consumer.max-attempts=4 \n" +
		"stream.bindings.x-in-0.consumer.back-off-multiplier=1.5\t\n" +
		"stream.bindings.x-in-0.consumer.back-off-initial-interval=2s \n" +
		"stream.bindings.x-in-0.consumer.back-off-max-interval=3000 \n" +
		"stream.bindings.x-in-0.consumer.dlq=true \n"
	l := mustLoad(t, Options{Name: "application.properties", File: "application.properties", Data: []byte(props),
		Env: []string{"STREAM_BINDINGS_X_IN_0_CONSUMER_CONCURRENCY= 3 "}})
	c := l.Stream.Binding("x-in-0").Consumer
	if c.MaxAttempts != 4 || c.BackOffMultiplier != 1.5 || c.BackOffInitialInterval != 2*time.Second ||
		c.BackOffMaxInterval != 3*time.Second || !c.DLQ || c.Concurrency != 3 {
		t.Errorf("consumer %+v", c)
	}
}
