// Package topology is the model of a streambind system's topology:
// services, their functions and bindings, the destinations (topics,
// exchanges, subjects, streams) and dead-letter destinations they meet on,
// and what only a system-wide view shows (destinations produced but never
// consumed, and so on).
//
// Two programs build it: `streambind graph`, from the configuration files
// of one service or several (it draws it as Mermaid or DOT, or prints it as
// JSON), and package management, from a running app (GET
// /actuator/topology). Both describe a binding the same way ([BindingSpec])
// and get the same JSON.
//
//	m := topology.Build([]topology.ServiceSpec{topology.FromApp(app, "shop")})
//	json.NewEncoder(os.Stdout).Encode(m)
//
// Names follow each binder's conventions (docs/conventions.md): a
// consumer's dead-letter destination is error.<destination>.<group> (or
// its dlq-name on Kafka and NATS), RabbitMQ's the queue
// <destination>.<group>.dlq, and a RabbitMQ consumer reads the queue
// <destination>.<group> (<group> with queue-name-group-only,
// <destination>.<group>-<instance-index> when partitioned).
package topology

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// Binder types whose naming rules the model knows (the values of the
// binders' Type constants; the binder packages are not imported, to keep
// their clients out of this package's import graph).
const (
	typeKafka  = "kafka"
	typeRabbit = "rabbit"
	typeNATS   = "nats"
)

// Model is the topology, as `streambind graph --format json` prints it
// and GET /actuator/topology serves it.
type Model struct {
	Services     []Service     `json:"services"`
	Destinations []Destination `json:"destinations"`
	// Findings are what only a system-wide view shows.
	Findings []Finding `json:"findings"`
}

// Service is one service (one app).
type Service struct {
	Name string `json:"name"`
	// Files and Profiles are the configuration files and profiles it was
	// loaded from (empty when built from a running app without them).
	Files     []string   `json:"files"`
	Profiles  []string   `json:"profiles"`
	Binders   []Binder   `json:"binders"`
	Functions []Function `json:"functions"`
	Bindings  []Binding  `json:"bindings"`
}

// Binder is a binder that has bindings.
type Binder struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Function is one bound function (or composition) of a service.
type Function struct {
	Name string `json:"name"`
	// Kind is supplier, function, consumer, or unknown when no binding of
	// it is configured (its type decides, in code).
	Kind     string   `json:"kind"`
	Bindings []string `json:"bindings"`
}

// Binding is one binding of a service.
type Binding struct {
	Name string `json:"name"`
	// Function is "" for an output binding of the send bridge
	// (stream.output-bindings).
	Function     string   `json:"function,omitempty"`
	Direction    string   `json:"direction"` // in, out
	Destinations []string `json:"destinations"`
	Binder       string   `json:"binder"`
	BinderType   string   `json:"binder_type"`
	ContentType  string   `json:"content_type"`
	// Consumers.
	Group string `json:"group,omitempty"`
	// Queues are the RabbitMQ queues a consumer reads, one per
	// destination.
	Queues        []string `json:"queues,omitempty"`
	Concurrency   int      `json:"concurrency,omitempty"`
	Partitioned   bool     `json:"partitioned,omitempty"`
	InstanceIndex *int     `json:"instance_index,omitempty"`
	InstanceCount int      `json:"instance_count,omitempty"`
	// DeadLetters are the dead-letter destinations (RabbitMQ: queues),
	// one per destination, of a consumer with dlq and a group.
	DeadLetters []string `json:"dead_letters,omitempty"`
	// Producers.
	PartitionCount        int      `json:"partition_count,omitempty"`
	PartitionKey          string   `json:"partition_key,omitempty"`
	PartitionKeyExtractor string   `json:"partition_key_extractor,omitempty"`
	RequiredGroups        []string `json:"required_groups,omitempty"`
}

// Destination is a destination (topic, exchange, subject) or a
// dead-letter destination, identified by binder type and name.
type Destination struct {
	ID         string `json:"id"` // <binder type>:<name>
	Name       string `json:"name"`
	BinderType string `json:"binder_type"`
	// DeadLetter is true for a dead-letter destination (on RabbitMQ the
	// queue <destination>.<group>.dlq on exchange DLX).
	DeadLetter    bool  `json:"dead_letter,omitempty"`
	Producers     []Ref `json:"producers"`
	DeadLettersOf []Ref `json:"dead_letters_of,omitempty"`
	Consumers     []Ref `json:"consumers"`
}

// Ref names a binding of a service.
type Ref struct {
	Service string `json:"service"`
	Binding string `json:"binding"`
	Group   string `json:"group,omitempty"`
}

// Finding is something the model shows beside the picture.
type Finding struct {
	// Kind: produced-not-consumed, consumed-not-produced,
	// dead-letters-unread, partitions.
	Kind        string `json:"kind"`
	Destination string `json:"destination,omitempty"`
	BinderType  string `json:"binder_type,omitempty"`
	Message     string `json:"message"`
}

// ServiceSpec is what Build needs of a service.
type ServiceSpec struct {
	Name     string
	Files    []string
	Profiles []string
	// Functions are the bound functions, in the order of the definition.
	Functions []FunctionSpec
	Bindings  []BindingSpec
}

// FunctionSpec is a bound function.
type FunctionSpec struct {
	Name string
	// Kind: supplier, function, consumer or unknown.
	Kind string
}

// BindingSpec is a binding as the app resolves it.
type BindingSpec struct {
	Name string
	// Function is "" for an output binding of the send bridge.
	Function string
	Input    bool
	// Configured is false for a binding the app would bind with defaults
	// only, of a function whose kind the configuration does not show; it
	// is left out of the model.
	Configured   bool
	Destinations []string
	Group        string
	BinderName   string
	BinderType   string
	ContentType  string
	Consumer     stream.ConsumerConfig
	Producer     stream.ProducerConfig
	// Extension is the binder-specific section of the binding (consumer
	// or producer side), undecoded.
	Extension map[string]any
}

// DeadLetters returns the dead-letter destination of consumer b for each
// of its destinations (none without dlq or group), as its binder names
// it: Kafka and NATS a dlq-name or error.<destination>.<group>, RabbitMQ
// the queue <destination>.<group>.dlq, any other binder
// error.<destination>.<group>.
func DeadLetters(b *BindingSpec) []string {
	if !b.Input || !b.Consumer.DLQ || b.Group == "" {
		return nil
	}
	var out []string
	for _, d := range b.Destinations {
		switch b.BinderType {
		case typeRabbit:
			out = append(out, d+"."+b.Group+".dlq")
		case typeKafka, typeNATS:
			if n := ExtString(b.Extension, "dlq-name"); n != "" {
				out = append(out, n)
				continue
			}
			out = append(out, stream.DLQName(d, b.Group))
		default:
			out = append(out, stream.DLQName(d, b.Group))
		}
	}
	return out
}

// RabbitQueues returns the queues a RabbitMQ consumer reads, one per
// destination.
func RabbitQueues(b *BindingSpec) []string {
	if b.BinderType != typeRabbit || !b.Input || b.Group == "" {
		return nil
	}
	var out []string
	for _, d := range b.Destinations {
		switch {
		case GroupOnly(b):
			out = append(out, b.Group)
		case b.Consumer.Partitioned:
			out = append(out, d+"."+b.Group+"-"+strconv.Itoa(b.Consumer.InstanceIndex))
		default:
			out = append(out, d+"."+b.Group)
		}
	}
	return out
}

// GroupOnly reports whether a RabbitMQ consumer's queue is named by its
// group alone (queue-name-group-only).
func GroupOnly(b *BindingSpec) bool { return ExtBool(b.Extension, "queue-name-group-only") }

// ExtBool reads a boolean binder-specific property (false when absent or
// not a boolean).
func ExtBool(ext map[string]any, key string) bool {
	for k, v := range ext {
		if props.Norm(k) == props.Norm(key) {
			b, err := props.Bool(v)
			return err == nil && b
		}
	}
	return false
}

// ExtString reads a string binder-specific property ("" when absent or
// not a string).
func ExtString(ext map[string]any, key string) string {
	for k, v := range ext {
		if props.Norm(k) == props.Norm(key) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

type destKey struct{ typ, name string }

// Build builds the topology of the services: each binding joined to the
// destinations it produces to or consumes from, across services by binder
// type and destination name. Its findings are the destinations produced
// but not consumed, consumed but not produced, and dead-letter
// destinations nobody reads; a caller that checks more (streambind graph
// checks partition counts) appends its own.
func Build(services []ServiceSpec) *Model {
	m := &Model{Services: []Service{}, Destinations: []Destination{}, Findings: []Finding{}}
	dests := map[destKey]*Destination{}
	node := func(k destKey) *Destination {
		d := dests[k]
		if d == nil {
			d = &Destination{ID: k.typ + ":" + k.name, Name: k.name, BinderType: k.typ, Producers: []Ref{}, Consumers: []Ref{}}
			dests[k] = d
		}
		return d
	}
	// Dead-letter destinations first: a RabbitMQ consumer of a DLQ's
	// queue reads the DLQ, not its exchange.
	rabbitDLQs := map[string]bool{}
	for _, s := range services {
		for i := range s.Bindings {
			b := &s.Bindings[i]
			if !b.Configured {
				continue
			}
			for _, n := range DeadLetters(b) {
				d := node(destKey{b.BinderType, n})
				d.DeadLetter = true
				d.DeadLettersOf = append(d.DeadLettersOf, Ref{Service: s.Name, Binding: b.Name, Group: b.Group})
				if b.BinderType == typeRabbit {
					rabbitDLQs[n] = true
				}
			}
		}
	}
	for _, s := range services {
		gs := Service{Name: s.Name, Files: append([]string{}, s.Files...), Profiles: append([]string{}, s.Profiles...),
			Binders: []Binder{}, Functions: []Function{}, Bindings: []Binding{}}
		binders := map[string]string{}
		fnBindings := map[string][]string{}
		// Bindings in the order of the definition, inputs first; those of
		// the send bridge last.
		rank := map[string]int{}
		for i, f := range s.Functions {
			rank[f.Name] = i
		}
		bindings := make([]*BindingSpec, len(s.Bindings))
		for i := range s.Bindings {
			bindings[i] = &s.Bindings[i]
		}
		sort.SliceStable(bindings, func(i, j int) bool {
			a, b := bindings[i], bindings[j]
			ra, aok := rank[a.Function]
			rb, bok := rank[b.Function]
			switch {
			case aok != bok:
				return aok
			case ra != rb:
				return ra < rb
			case a.Input != b.Input:
				return a.Input
			}
			return a.Name < b.Name
		})
		for _, b := range bindings {
			if !b.Configured {
				continue
			}
			binders[b.BinderName] = b.BinderType
			gb := Binding{Name: b.Name, Function: b.Function, Direction: "out", Destinations: b.Destinations,
				Binder: b.BinderName, BinderType: b.BinderType, ContentType: b.ContentType}
			ref := Ref{Service: s.Name, Binding: b.Name}
			if b.Input {
				gb.Direction = "in"
				gb.Group = b.Group
				gb.Queues = RabbitQueues(b)
				gb.Concurrency = b.Consumer.Concurrency
				if b.Consumer.Partitioned {
					gb.Partitioned = true
					idx := b.Consumer.InstanceIndex
					gb.InstanceIndex = &idx
				}
				gb.InstanceCount = b.Consumer.InstanceCount
				gb.DeadLetters = DeadLetters(b)
				ref.Group = b.Group
				for i, d := range b.Destinations {
					k := destKey{b.BinderType, d}
					if b.BinderType == typeRabbit && i < len(gb.Queues) && rabbitDLQs[gb.Queues[i]] {
						k = destKey{b.BinderType, gb.Queues[i]}
					}
					node(k).Consumers = append(node(k).Consumers, ref)
				}
			} else {
				p := b.Producer
				gb.PartitionCount = p.PartitionCount
				gb.PartitionKey = p.PartitionKeyExpression
				gb.PartitionKeyExtractor = p.PartitionKeyExtractorName
				gb.RequiredGroups = p.RequiredGroups
				for _, d := range b.Destinations {
					n := node(destKey{b.BinderType, d})
					n.Producers = append(n.Producers, ref)
				}
			}
			if b.Function != "" {
				fnBindings[b.Function] = append(fnBindings[b.Function], b.Name)
			}
			gs.Bindings = append(gs.Bindings, gb)
		}
		for _, f := range s.Functions {
			bs := fnBindings[f.Name]
			if bs == nil {
				bs = []string{}
			}
			gs.Functions = append(gs.Functions, Function{Name: f.Name, Kind: f.Kind, Bindings: bs})
		}
		names := make([]string, 0, len(binders))
		for n := range binders {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			gs.Binders = append(gs.Binders, Binder{Name: n, Type: binders[n]})
		}
		m.Services = append(m.Services, gs)
	}
	keys := make([]destKey, 0, len(dests))
	for k := range dests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].typ != keys[j].typ {
			return keys[i].typ < keys[j].typ
		}
		return keys[i].name < keys[j].name
	})
	for _, k := range keys {
		m.Destinations = append(m.Destinations, *dests[k])
	}
	m.Findings = findings(m)
	return m
}

// findings returns what the system-wide view shows of the destinations.
func findings(m *Model) []Finding {
	out := []Finding{}
	refs := func(rs []Ref) string {
		var s []string
		for _, r := range rs {
			name := r.Binding
			if len(m.Services) > 1 {
				name = r.Service + "/" + r.Binding
			}
			s = append(s, name)
		}
		return strings.Join(s, ", ")
	}
	for _, d := range m.Destinations {
		where := fmt.Sprintf("%s (%s)", d.Name, d.BinderType)
		switch {
		case d.DeadLetter && len(d.Consumers) == 0:
			out = append(out, Finding{Kind: "dead-letters-unread", Destination: d.Name, BinderType: d.BinderType,
				Message: fmt.Sprintf("dead letters of %s go to %s, which no consumer reads", refs(d.DeadLettersOf), where)})
		case d.DeadLetter:
		case len(d.Producers) > 0 && len(d.Consumers) == 0:
			out = append(out, Finding{Kind: "produced-not-consumed", Destination: d.Name, BinderType: d.BinderType,
				Message: fmt.Sprintf("%s is produced by %s but consumed by none", where, refs(d.Producers))})
		case len(d.Consumers) > 0 && len(d.Producers) == 0:
			out = append(out, Finding{Kind: "consumed-not-produced", Destination: d.Name, BinderType: d.BinderType,
				Message: fmt.Sprintf("%s is consumed by %s but produced by none", where, refs(d.Consumers))})
		}
	}
	return out
}
