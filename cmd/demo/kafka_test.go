package main

import (
	"strings"
	"testing"
)

// TestDemoOnKafka runs the shop on an embedded kfake cluster (KAFKA_BROKERS
// cleared so that the demo starts one), with the kafka profile activated
// each way there is: the embedded cluster must be started for all of them,
// as the loader activates the profile for all of them.
func TestDemoOnKafka(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		orders string
		want   []string // produced, inventory, shipping, payment, notified, dlq, lost, duplicates, undecodable
	}{
		{"--profile", nil, []string{"--profile", "kafka"}, "300", []string{"300", "300", "300", "270", "270", "30", "0", "0", "0"}},
		{"STREAM_PROFILES_ACTIVE", map[string]string{"STREAM_PROFILES_ACTIVE": " kafka "}, nil, "100", []string{"100", "100", "100", "90", "90", "10", "0", "0", "0"}},
		{"SPRING_PROFILES_ACTIVE", map[string]string{"SPRING_PROFILES_ACTIVE": "kafka"}, nil, "100", []string{"100", "100", "100", "90", "90", "10", "0", "0", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KAFKA_BROKERS", "")
			unsetenv(t, "STREAM_PROFILES_ACTIVE")
			unsetenv(t, "SPRING_PROFILES_ACTIVE")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append(tc.args, "--orders", tc.orders, "--poison-every", "10", "--timeout", "60s")
			code, out, errOut, m := runDemo(t, args...)
			if code != 0 || m == nil {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			for i, w := range tc.want {
				if m[i+1] != w {
					t.Errorf("summary field %d = %s, want %s (%s)", i+1, m[i+1], w, m[0])
				}
			}
			if !strings.Contains(errOut, "bindings on kafka)") {
				t.Errorf("the shop did not run on the kafka binder:\n%s", errOut)
			}
		})
	}
}
