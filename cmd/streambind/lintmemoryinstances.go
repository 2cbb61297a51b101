package main

import (
	"fmt"
	"strings"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// kindMemoryInstances: a partitioned consumer group of the in-process
// binder with instance-count > 1.
const kindMemoryInstances = "memory-instances"

// memoryPartitionedInstances warns of each partitioned consumer of a named
// group on the in-process binder with instance-count > 1: its group has a
// queue per instance, and the queues of the instances that do not run in
// the process are read by nobody; after buffer-size messages each, every
// send to the destination blocks (back-pressure), with no log line but
// the binder's WARN at bind. Not for bindings only assumed to be on the
// in-process binder (the app's code picks their binder), nor for one whose
// instance-index-list names every index (it reads every queue).
func memoryPartitionedInstances(s *checkedService) []problem {
	var out []problem
	for _, b := range s.bindings {
		c := b.consumer
		dests := strings.Join(b.destinations, ",")
		if !b.configured || !b.input || b.binderType != memory.Type || s.assumedBinder == memory.Type ||
			b.group == "" || !c.Partitioned || c.InstanceCount <= 1 {
			continue
		}
		which := fmt.Sprintf("instance-index %d", c.InstanceIndex)
		if ix := c.InstanceIndexes(b.group); len(ix) > 0 {
			if len(ix) >= c.InstanceCount {
				continue // instance-index-list names every index: all are read here
			}
			which = fmt.Sprintf("instance-index-list %v", ix)
		}
		out = append(out, endpoint{s, b}.keyProblem(kindMemoryInstances, "consumer.instance-count", fmt.Sprintf(
			"is %d on the in-process binder (partitioned, %s): this process reads only its share of %s for group %s, and the queues of the other instances, which do not run in it, are read by nobody: after buffer-size (%d) messages each, every send to %s blocks, and with it the function or supplier that sends (back-pressure, no log line but the binder's WARN at bind); set partitioned: false (or instance-count: 1) for the in-process profile",
			c.InstanceCount, which, dests, b.group, memoryBufferSize(s, b.binderName), dests), true))
	}
	return out
}

// memoryBufferSize is the buffer-size of in-process binder name of s, as
// the binder reads it (stream.memory.binder, then the declared binder's
// environment, which wins); memory.DefaultBufferSize when unset or not
// valid (the binder's own check reports that).
func memoryBufferSize(s *checkedService, name string) int {
	n := memory.DefaultBufferSize
	if s.loaded == nil || s.loaded.Stream == nil {
		return n
	}
	settings := stream.BinderSettingsOf(s.loaded.Stream, name)
	settings.Type = memory.Type
	for _, src := range props.BinderSources(settings, memory.Type) {
		for k, v := range src.Map {
			if props.Norm(k) == "buffersize" {
				if i, err := props.Int(v, 1); err == nil {
					n = i
				}
			}
		}
	}
	return n
}
