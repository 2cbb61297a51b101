package config

import (
	"strings"
	"testing"
)

// SCSt's event-routing and common binding keys load unchanged.
func TestSCStRoutingAndBindingKeys(t *testing.T) {
	l := loadApp(t, `
spring:
  cloud:
    function:
      definition: functionRouter
      routing-expression: "headers['type']"
    stream:
      instanceIndex: 1
      instanceCount: 2
      function:
        routing:
          enabled: true
      bindings:
        functionRouter-in-0:
          destination: events
          group: router
          consumer:
            useNativeDecoding: true
            defaultRetryable: false
            headerMode: none
            retryable-exceptions:
              java.lang.IllegalStateException: false
        functionRouter-out-0:
          producer:
            partitionKeyExpression: "headers['id']"
            partitionSelectorExpression: "hashCode()"
            partitionCount: 3
            useNativeEncoding: true
`)
	s := l.Stream
	if s.Function.RoutingExpression != "headers['type']" || !s.Function.Routing.Enabled || s.InstanceIndex != 1 || s.InstanceCount != 2 {
		t.Fatalf("function/instance: %+v %d %d", s.Function, s.InstanceIndex, s.InstanceCount)
	}
	c := s.Bindings["functionRouter-in-0"].Consumer
	if !c.UseNativeDecoding || c.DefaultRetryable == nil || *c.DefaultRetryable || c.HeaderMode != "none" ||
		len(c.RetryableExceptions) != 1 || c.RetryableExceptions["java.lang.illegalstateexception"] {
		t.Fatalf("consumer: %+v", c)
	}
	p := s.Bindings["functionRouter-out-0"].Producer
	if p.PartitionSelectorExpression != "hashCode()" || !p.UseNativeEncoding || p.PartitionCount != 3 {
		t.Fatalf("producer: %+v", p)
	}
}

func TestRetryableExceptionsBadValue(t *testing.T) {
	_, err := Load(Options{Env: []string{}, Data: []byte(`
stream:
  bindings:
    f-in-0:
      consumer:
        retryable-exceptions:
          java.lang.IllegalStateException: maybe
`)})
	if err == nil || !strings.Contains(err.Error(), "stream.bindings.f-in-0.consumer.retryable-exceptions.java.lang.IllegalStateException") {
		t.Fatalf("want an error naming the key, got %v", err)
	}
}
