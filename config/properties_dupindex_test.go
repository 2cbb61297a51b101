package config

import (
	"strings"
	"testing"
)

// TestPropertiesSameItemTwoSpellings: one item of a list set under two
// spellings of its key (required-groups[0], then requiredGroups[0]) is a
// duplicate key at the second line, naming the first, as the same plain
// key in two spellings is; it silently kept the last value. The same
// spelling twice keeps the last value, as in Spring Boot.
func TestPropertiesSameItemTwoSpellings(t *testing.T) {
	const p = "spring.cloud.stream.bindings.x-out-0.destination=x\n" +
		"spring.cloud.stream.bindings.x-out-0.producer.required-groups[0]=a\n" +
		"spring.cloud.stream.bindings.x-out-0.producer.requiredGroups[0]=b\n"
	_, err := parseProperties("application.properties", []byte(p))
	if err == nil {
		t.Fatal("no error, want a duplicate key")
	}
	msg := err.Error()
	for _, want := range []string{"application.properties:3", "duplicate key", "line 2 sets spring.cloud.stream.bindings.x-out-0.producer.required-groups[0] too"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	same := "a.required-groups[0]=a\na.required-groups[0]=b\na.requiredGroups[1]=c\n"
	if _, err := parseProperties("application.properties", []byte(same)); err != nil {
		t.Errorf("one spelling twice, another for another item: %v", err)
	}
}
