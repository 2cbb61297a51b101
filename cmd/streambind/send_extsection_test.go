package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
)

// TestSendIgnoresOtherBindingsSections: send binds one binding of its own;
// the binder-specific sections of the service's other bindings
// (stream.kafka.bindings.work-in-0) are not its concern. It warned about
// each as "configured binding not bound" (found by the examples trial:
// scst-port's stream.rabbit.bindings.chargePayment-in-0), as tail and dlq
// do not.
func TestSendIgnoresOtherBindingsSections(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := fmt.Sprintf("cli-ext-%d", time.Now().UnixNano())
	yaml := strings.Replace(fmt.Sprintf(kafkaService, topic), "      auto-add-partitions: true\n", `      auto-add-partitions: true
    bindings:
      work-in-0:
        consumer:
          start-offset: earliest
      emit-out-0:
        producer:
          compression: none
`, 1)
	dir := writeFiles(t, map[string]string{"application.yaml": yaml})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	createTopic(t, c.Brokers(), topic, 2)
	for _, binding := range []string{"work-in-0", "emit-out-0"} {
		r := runIn(t, dir, env, "send", "--binding", binding, `{"id":"a"}`)
		if r.code != exitOK {
			t.Fatalf("send --binding %s: exit status %d, stderr %q", binding, r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "not bound") {
			t.Errorf("send --binding %s warned about the service's other bindings:\n%s", binding, r.stderr)
		}
	}
}
