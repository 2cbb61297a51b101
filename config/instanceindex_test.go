package config

import "testing"

// TestInstanceIndexFromEnv: SCSt's spring.cloud.stream.instance-index
// defaults to ${INSTANCE_INDEX:${CF_INSTANCE_INDEX:0}}, which Spring Cloud
// Data Flow's deployers and Cloud Foundry set per instance. The variables
// were not read: every instance of a ported partitioned consumer was
// instance 0 (on RabbitMQ all of them consumed <destination>.<group>-0).
// They apply only with stream.instance-count set, below any key that sets
// the index.
func TestInstanceIndexFromEnv(t *testing.T) {
	const counted = "spring.cloud.stream.instanceCount: 3\nspring.cloud.function.definition: sink\nspring.cloud.stream.bindings.sink-in-0: { group: g, consumer: { partitioned: true } }\n"
	for _, tc := range []struct {
		name, yaml string
		env        []string
		want       int
		origin     string
	}{
		{"INSTANCE_INDEX", counted, []string{"INSTANCE_INDEX=2"}, 2, "env INSTANCE_INDEX"},
		{"CF_INSTANCE_INDEX", counted, []string{"CF_INSTANCE_INDEX=1"}, 1, "env CF_INSTANCE_INDEX"},
		{"INSTANCE_INDEX first", counted, []string{"CF_INSTANCE_INDEX=1", "INSTANCE_INDEX=2"}, 2, "env INSTANCE_INDEX"},
		{"the key wins", counted + "spring.cloud.stream.instance-index: 0\n", []string{"INSTANCE_INDEX=2"}, 0, "application.yaml:4"},
		{"the key's variable wins", counted, []string{"INSTANCE_INDEX=2", "SPRING_CLOUD_STREAM_INSTANCEINDEX=1"}, 1, "env SPRING_CLOUD_STREAM_INSTANCEINDEX"},
		{"no instance-count", "spring.cloud.function.definition: sink\n", []string{"CF_INSTANCE_INDEX=4"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := loadApp(t, tc.yaml, tc.env...).Stream
			if c.InstanceIndex != tc.want || c.Binding("sink-in-0").Consumer.InstanceIndex != tc.want {
				t.Errorf("instance-index %d, sink-in-0's %d; want %d", c.InstanceIndex, c.Binding("sink-in-0").Consumer.InstanceIndex, tc.want)
			}
			if o := c.Origins["stream.instance-index"]; o != tc.origin {
				t.Errorf("origin %q, want %q", o, tc.origin)
			}
		})
	}
	es := configErrors(t, Options{Data: []byte(counted), Env: []string{"INSTANCE_INDEX=two"}})
	if len(es) != 1 || es[0].Path != "stream.instance-index" || es[0].Origin != "env INSTANCE_INDEX" {
		t.Errorf("got %v, want one problem at stream.instance-index from env INSTANCE_INDEX", es)
	}
}
