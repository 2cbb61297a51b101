package main

import (
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/topology"
)

// kindMemoryDLQUnread: an in-process consumer with dlq: true whose
// dead-letter destination no consumer reads.
const kindMemoryDLQUnread = "memory-dlq-unread"

// unreadInProcessDLQs warns, at consumer.dlq, of each in-process consumer
// whose dead letters go to a destination that no consumer of the services
// given reads: the in-process binder keeps a dead letter only in a
// consumer group of the dead-letter destination, so each is dropped (a
// WARN at run time, "dead letter dropped"), where a broker's DLQ keeps
// them for streambind dlq. It is streambind graph's finding
// (topology's "dead-letters-unread", its message), for the in-process
// binder only. Nothing to build when no in-process consumer has dlq: true.
func (sys *system) unreadInProcessDLQs() []problem {
	found := false
	for _, s := range sys.services {
		for _, b := range s.bindings {
			found = found || (b.configured && b.input && b.binderType == memory.Type && b.consumer.DLQ && b.group != "")
		}
	}
	if !found {
		return nil
	}
	m := sys.graph()
	// The model's services by ID, matched by name: the n-th service of a
	// name in the model is the n-th given of that name (topology's IDs,
	// name or name#n, count them so), not paired by position.
	byName := map[string][]*checkedService{}
	for _, s := range sys.services {
		byName[s.name] = append(byName[s.name], s)
	}
	svcs := map[string]*checkedService{}
	for _, s := range m.Services {
		if q := byName[s.Name]; len(q) > 0 {
			svcs[s.ID], byName[s.Name] = q[0], q[1:]
		}
	}
	var out []problem
	for _, f := range topology.Unread(m, memory.Type) {
		for _, r := range f.DeadLettersOf {
			s := svcs[r.Service]
			if s == nil {
				continue
			}
			for _, b := range s.bindings {
				if b.name == r.Binding {
					out = append(out, endpoint{s, b}.keyProblem(kindMemoryDLQUnread, "consumer.dlq", "is true on the in-process binder, but "+f.Message+
						": the in-process binder keeps a dead letter only in a consumer group of its destination, so each is dropped; read them with a consumer (consumer.dead-letters-of: "+b.name+"), or leave dlq unset for this profile", true))
				}
			}
		}
	}
	return out
}
