package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestInstanceIndexListDecoded: SCSt's consumer.instanceIndexList is
// taken (it was refused) in every spelling SCSt's files use: a YAML
// list, a comma-separated string, camelCase, .properties indexes; and
// stream.default's (SCSt's spring.cloud.stream.default.consumer) is a
// binding's default, as instance-index's is.
func TestInstanceIndexListDecoded(t *testing.T) {
	yaml := `spring:
  cloud:
    stream:
      default:
        consumer:
          instance-index-list: 1
      bindings:
        list-in-0:
          group: g
          consumer: { partitioned: true, instance-count: 3, instance-index-list: [0, 2] }
        comma-in-0:
          group: g
          consumer: { partitioned: true, instance-count: 3, instanceIndexList: "0, 2" }
        inherits-in-0:
          group: g
          consumer: { partitioned: true, instance-count: 3 }
`
	l := mustLoad(t, Options{Data: []byte(yaml), Logger: discard})
	for name, want := range map[string][]int{"list-in-0": {0, 2}, "comma-in-0": {0, 2}, "inherits-in-0": {1}} {
		if got := l.Stream.Binding(name).Consumer.InstanceIndexList; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: instance-index-list %v, want %v", name, got, want)
		}
	}
	if o := l.Stream.Origins["stream.bindings.list-in-0.consumer.instance-index-list[1]"]; o != "application.yaml:10" {
		t.Errorf("origin of list-in-0's [1]: %q", o)
	}

	dir := writeFiles(t, map[string]string{"application.properties": `spring.cloud.stream.bindings.p-in-0.group=g
spring.cloud.stream.bindings.p-in-0.consumer.partitioned=true
spring.cloud.stream.bindings.p-in-0.consumer.instanceCount=4
spring.cloud.stream.bindings.p-in-0.consumer.instanceIndexList=3,1
spring.cloud.stream.bindings.q-in-0.group=g
spring.cloud.stream.bindings.q-in-0.consumer.partitioned=true
spring.cloud.stream.bindings.q-in-0.consumer.instance-count=4
spring.cloud.stream.bindings.q-in-0.consumer.instance-index-list[0]=2
spring.cloud.stream.bindings.q-in-0.consumer.instance-index-list[1]=0
`})
	l = mustLoad(t, Options{Dir: dir, Logger: discard})
	for name, want := range map[string][]int{"p-in-0": {3, 1}, "q-in-0": {2, 0}} {
		if got := l.Stream.Binding(name).Consumer.InstanceIndexList; !reflect.DeepEqual(got, want) {
			t.Errorf("%s (.properties): instance-index-list %v, want %v", name, got, want)
		}
	}
}

// TestInstanceIndexListValidated: on a partitioned consumer, an index
// outside [0, instance-count), one named twice (two consumers would each
// handle its partitions' messages) or a list of negative indexes only
// (nothing would be consumed) is an error at its file:line; a negative
// index among others is skipped (as SCSt skips it), not an error. A
// consumer that is not partitioned ignores the list, as SCSt does: no
// error whatever it holds.
func TestInstanceIndexListValidated(t *testing.T) {
	yaml := `stream:
  bindings:
    range-in-0:
      group: g
      consumer:
        partitioned: true
        instance-count: 3
        instance-index-list: [0, 3]
    dup-in-0:
      group: g
      consumer: { partitioned: true, instance-count: 3, instance-index-list: "2,0,2" }
    negonly-in-0:
      group: g
      consumer: { partitioned: true, instance-count: 3, instance-index-list: [-1] }
    word-in-0:
      group: g
      consumer: { partitioned: true, instance-count: 3, instance-index-list: "0,two" }
    neg-in-0:
      group: g
      consumer: { partitioned: true, instance-count: 3, instance-index-list: [-1, 1] }
    unpartitioned-in-0:
      group: g
      consumer: { instance-index-list: [7, 7] }
`
	want := map[string]string{
		"stream.bindings.range-in-0.consumer.instance-index-list[1]": "application.yaml:8: must be in [0, instance-count=3), got 3",
		"stream.bindings.dup-in-0.consumer.instance-index-list[2]":   "application.yaml:11: index 2 is already instance-index-list[0]: two consumers would read the same partitions",
		"stream.bindings.negonly-in-0.consumer.instance-index-list":  "application.yaml:14: has no index of 0 or more",
		"stream.bindings.word-in-0.consumer.instance-index-list[1]":  `application.yaml:17: expected an integer, got "two"`,
	}
	es := configErrors(t, Options{Data: []byte(yaml)})
	if len(es) != len(want) {
		t.Errorf("%d problems, want %d:\n%v", len(es), len(want), es)
	}
	for _, e := range es {
		w, found := want[e.Path]
		origin, msg, _ := strings.Cut(w, ": ")
		if !found || e.Origin != origin || !strings.HasPrefix(e.Msg, msg) {
			t.Errorf("%s (%s): %s\nwant (%s): %s", e.Path, e.Origin, e.Msg, origin, msg)
		}
	}
}
