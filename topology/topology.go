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
// Names follow each binder's conventions (docs/conventions.md). A
// consumer's dead-letter destination is what its binder says
// ([stream.DeadLetterSourcer], which streambind dlq uses too) when the
// caller gives the binder (BindingSpec.DeadLetterSource); else by the
// binders' rules: error.<destination>.<group> or the binder's dlq-name
// (Kafka, NATS, Redis), on RabbitMQ the queue dead-letter-queue-name or
// <base>.dlq, <base> being <destination>.<group> (<group> with
// queue-name-group-only). A RabbitMQ consumer reads the queue <base>
// (<base>-<instance-index> when partitioned).
//
// Destinations are identified by binder type and name, and also by kind
// on RabbitMQ (an exchange and a queue of the same name are two things:
// a consumer of an exchange never reads a queue of its name), by broker
// when the caller tells brokers apart (BindingSpec.Broker: two binders of
// one type on different addresses), and, for the in-process binder, by
// service and binder: each in-process binder has a broker of its own, in
// its process.
package topology

import (
	"fmt"
	"slices"
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
	typeRabbit = "rabbit"
	typeMemory = "memory"
)

// Kinds of RabbitMQ destinations.
const (
	KindExchange = "exchange"
	KindQueue    = "queue"
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
	// ID names the service in the model (in Refs and findings): its
	// name, or <name>#<n> when several services given have that name
	// (two directories' services of one name, the configurations of two
	// instances of one service), n counting them from 1 in the order
	// given.
	ID   string `json:"id"`
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
	// DestinationIDs are the IDs of the destinations it produces to or
	// consumes from, one per destination (for a RabbitMQ consumer of a
	// dead-letter queue, the queue's).
	DestinationIDs []string `json:"destination_ids"`
	Binder         string   `json:"binder"`
	BinderType     string   `json:"binder_type"`
	ContentType    string   `json:"content_type"`
	// Consumers.
	Group string `json:"group,omitempty"`
	// Queues are the RabbitMQ queues a consumer reads, one per
	// destination.
	Queues        []string `json:"queues,omitempty"`
	Concurrency   int      `json:"concurrency,omitempty"`
	Partitioned   bool     `json:"partitioned,omitempty"`
	InstanceIndex *int     `json:"instance_index,omitempty"`
	InstanceCount int      `json:"instance_count,omitempty"`
	// InstanceIndexes are the indexes of consumer.instance-index-list
	// when it applies (a partitioned consumer with a group): the app binds
	// one consumer per index, and InstanceIndex is not used. IndexQueues
	// are then, per destination, the RabbitMQ queues of those consumers,
	// one per index (Queues holds the first of each).
	InstanceIndexes []int      `json:"instance_indexes,omitempty"`
	IndexQueues     [][]string `json:"index_queues,omitempty"`
	// DeadLetters are the dead-letter destinations (RabbitMQ: queues),
	// one per destination, of a consumer with dlq and a group, and
	// DeadLetterIDs their IDs.
	DeadLetters   []string `json:"dead_letters,omitempty"`
	DeadLetterIDs []string `json:"dead_letter_ids,omitempty"`
	// Producers.
	PartitionCount        int      `json:"partition_count,omitempty"`
	PartitionKey          string   `json:"partition_key,omitempty"`
	PartitionKeyExtractor string   `json:"partition_key_extractor,omitempty"`
	RequiredGroups        []string `json:"required_groups,omitempty"`
}

// Destination is a destination (topic, exchange, subject) or a
// dead-letter destination, identified by binder type and name, kind
// (RabbitMQ) and, in process, service and binder.
type Destination struct {
	// ID is <binder type>:<name>; when several destinations have that
	// binder type and name, <binder type>:<kind>:<name> on RabbitMQ and
	// <binder type>:<name>@<service>/<binder> in process (then #2, #3 ...
	// should that still not tell them apart).
	ID         string `json:"id"`
	Name       string `json:"name"`
	BinderType string `json:"binder_type"`
	// Kind is exchange or queue on RabbitMQ, where producers send to an
	// exchange, consumers read a queue of their own bound to it, and a
	// dead-letter queue is a queue its readers consume directly; empty on
	// the other binders.
	Kind string `json:"kind,omitempty"`
	// Service and Binder are set for an in-process destination: it is
	// one binder's of one service (process), and only that binder's
	// bindings meet on it.
	Service string `json:"service,omitempty"`
	Binder  string `json:"binder,omitempty"`
	// Broker is set when another destination has its binder type and name
	// on another broker (BindingSpec.Broker).
	Broker string `json:"broker,omitempty"`
	// DeadLetter is true for a dead-letter destination (on RabbitMQ the
	// queue <destination>.<group>.dlq on exchange DLX, unless the
	// binding's dead-letter settings say otherwise).
	DeadLetter    bool  `json:"dead_letter,omitempty"`
	Producers     []Ref `json:"producers"`
	DeadLettersOf []Ref `json:"dead_letters_of,omitempty"`
	Consumers     []Ref `json:"consumers"`
}

// Ref names a binding of a service.
type Ref struct {
	// Service is the service's ID.
	Service string `json:"service"`
	Binding string `json:"binding"`
	Group   string `json:"group,omitempty"`
}

// Finding is something the model shows beside the picture.
type Finding struct {
	// Kind: produced-not-consumed, consumed-not-produced,
	// dead-letters-unread, partitions.
	Kind string `json:"kind"`
	// DestinationID, Destination and BinderType say which destination
	// it is about (DestinationID is the Destination's ID).
	DestinationID string `json:"destination_id,omitempty"`
	Destination   string `json:"destination,omitempty"`
	BinderType    string `json:"binder_type,omitempty"`
	Message       string `json:"message"`
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
	// only, of a function whose kind the configuration does not show, and
	// for one the app does not bind (configured for a function that runs
	// elsewhere: the binding a dead-letter reader names, which is only
	// named); it is left out of the model.
	Configured   bool
	Destinations []string
	Group        string
	BinderName   string
	BinderType   string
	// Broker identifies the broker of the binding's binder (its
	// addresses, say): bindings of one binder type meet on a destination
	// only when their Brokers are equal. "" when the caller does not tell
	// brokers apart.
	Broker      string
	ContentType string
	Consumer    stream.ConsumerConfig
	Producer    stream.ProducerConfig
	// Extension is the binder-specific section of the binding (consumer
	// or producer side), undecoded.
	Extension map[string]any
	// DeadLetterSource, when set, is the DeadLetterSource method of the
	// consumer's binder ([stream.DeadLetterSourcer]): it names the
	// dead-letter destination as the binder does. Without it (or when it
	// fails) the binders' rules name it (see DeadLetters).
	DeadLetterSource func(stream.ConsumerSpec) (stream.DeadLetterSource, error)
}

// DeadLetters returns the dead-letter destination of consumer b for each
// of its destinations (none without dlq or group), as its binder names
// it: on RabbitMQ the name of the dead-letter queue. See deadLetter.
func DeadLetters(b *BindingSpec) []string {
	var out []string
	for _, d := range b.Destinations {
		if n, _, ok := deadLetter(b, d); ok {
			out = append(out, n)
		}
	}
	return out
}

// deadLetter returns the dead-letter destination of consumer b's
// destination d and its kind (KindQueue for a queue its readers consume
// directly, RabbitMQ's dead-letter queue), false without dlq or group.
// The binder names it when b has its DeadLetterSource; else the binders'
// rules do: RabbitMQ's dead-letter-queue-name, else <base>.dlq (<base>
// is <prefix><destination>.<group>, or <prefix><group> with
// queue-name-group-only);
// elsewhere dlq-name (Kafka, NATS, Redis), else error.<destination>.<group>.
func deadLetter(b *BindingSpec, d string) (name, kind string, ok bool) {
	if !b.Input || !b.Consumer.DLQ || b.Group == "" {
		return "", "", false
	}
	if b.DeadLetterSource != nil {
		ds, err := b.DeadLetterSource(stream.ConsumerSpec{Binding: b.Name, Destination: d, Group: b.Group,
			ContentType: b.ContentType, Consumer: b.Consumer, Extension: b.Extension})
		switch {
		case err != nil:
			// The binder refuses the binding's settings (the
			// configuration's checks report it): named by the rules.
		case ds.Group != "":
			// The dead letters sit in a queue of their own, which the
			// reader consumes directly (RabbitMQ).
			return DeadLetterQueue(ds), KindQueue, true
		case ds.Destination != "":
			return ds.Destination, destKind(b.BinderType), true
		}
	}
	if b.BinderType == typeRabbit {
		if n := ExtString(b.Extension, "dead-letter-queue-name"); n != "" {
			return n, KindQueue, true
		}
		return rabbitBaseQueue(b, d) + ".dlq", KindQueue, true
	}
	if n := ExtString(b.Extension, "dlq-name"); n != "" {
		return n, "", true
	}
	return stream.DLQName(d, b.Group), "", true
}

// destKind is the kind of the destinations bindings name on binder type
// typ: exchange on RabbitMQ, "" elsewhere.
func destKind(typ string) string {
	if typ == typeRabbit {
		return KindExchange
	}
	return ""
}

// destName is the name of destination d of binding b on its broker: on
// RabbitMQ the exchange, <prefix><destination> (SCSt's prefix), else d.
func destName(b *BindingSpec, d string) string {
	if b.BinderType == typeRabbit {
		return ExtString(b.Extension, "prefix") + d
	}
	return d
}

// RabbitQueues returns the queues a RabbitMQ consumer reads, one per
// destination: <prefix><destination>.<group>, or <prefix><group> with
// queue-name-group-only, -<index> appended when partitioned.
func RabbitQueues(b *BindingSpec) []string {
	if b.BinderType != typeRabbit || !b.Input || b.Group == "" {
		return nil
	}
	var out []string
	for _, d := range b.Destinations {
		q := rabbitBaseQueue(b, d)
		if b.Consumer.Partitioned {
			idx := b.Consumer.InstanceIndex
			if ix := b.Consumer.InstanceIndexes(b.Group); len(ix) > 0 {
				idx = ix[0]
			}
			q += "-" + strconv.Itoa(idx)
		}
		out = append(out, q)
	}
	return out
}

// RabbitIndexQueues returns, per destination, the queues of a RabbitMQ
// consumer with consumer.instance-index-list, one per index
// (<base>-<index>); nil without the list.
func RabbitIndexQueues(b *BindingSpec) [][]string {
	ix := b.Consumer.InstanceIndexes(b.Group)
	if b.BinderType != typeRabbit || !b.Input || len(ix) == 0 {
		return nil
	}
	var out [][]string
	for _, d := range b.Destinations {
		var qs []string
		for _, i := range ix {
			qs = append(qs, rabbitBaseQueue(b, d)+"-"+strconv.Itoa(i))
		}
		out = append(out, qs)
	}
	return out
}

// rabbitBaseQueue is SCSt's base queue name of RabbitMQ consumer b's
// group on destination d, as the binder names it:
// <prefix><destination>.<group>, or <prefix><group> with
// queue-name-group-only.
func rabbitBaseQueue(b *BindingSpec, d string) string {
	p := ExtString(b.Extension, "prefix")
	if GroupOnly(b) {
		return p + b.Group
	}
	return p + d + "." + b.Group
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

// DeadLetterQueue is the queue a dead-letter reader consumes when its
// binder keeps the dead letters in a queue of their own (ds.Group set,
// RabbitMQ): <prefix><group>, the reader's queue with
// queue-name-group-only, its prefix the source's (ds.Extension); "" when
// ds names no such queue.
func DeadLetterQueue(ds stream.DeadLetterSource) string {
	if ds.Group == "" {
		return ""
	}
	return ExtString(ds.Extension, "prefix") + ds.Group
}

// ExtString reads a string binder-specific property as the binders do
// (props.String: a number or boolean the YAML loader made of it is its
// text, prefix: 1 is "1"; "" when absent or not text).
func ExtString(ext map[string]any, key string) string {
	for k, v := range ext {
		if props.Norm(k) == props.Norm(key) {
			s, _ := props.String(v)
			return s
		}
	}
	return ""
}

// destKey identifies a destination: binder type, kind (RabbitMQ) and
// name, and for an in-process destination the service (its index) and
// binder it is in.
type destKey struct {
	typ, kind, name string
	broker          string // BindingSpec.Broker, on a broker
	svc             int    // -1: on a broker
	binder          string
}

func (k destKey) less(o destKey) bool {
	switch {
	case k.typ != o.typ:
		return k.typ < o.typ
	case k.name != o.name:
		return k.name < o.name
	case k.kind != o.kind:
		return k.kind < o.kind
	case k.broker != o.broker:
		return k.broker < o.broker
	case k.svc != o.svc:
		return k.svc < o.svc
	}
	return k.binder < o.binder
}

// serviceIDs returns the services' IDs: their names, <name>#<n> for a
// name several have.
func serviceIDs(services []ServiceSpec) []string {
	count := map[string]int{}
	for _, s := range services {
		count[s.Name]++
	}
	seen := map[string]int{}
	ids := make([]string, len(services))
	used := map[string]bool{}
	for i, s := range services {
		id := s.Name
		if count[s.Name] > 1 {
			seen[s.Name]++
			id = s.Name + "#" + strconv.Itoa(seen[s.Name])
		}
		for n := 2; used[id]; n++ { // a service named "svc#1" too
			id = s.Name + "#" + strconv.Itoa(seen[s.Name]) + "#" + strconv.Itoa(n)
		}
		used[id] = true
		ids[i] = id
	}
	return ids
}

// Build builds the topology of the services: each binding joined to the
// destinations it produces to or consumes from, across services by binder
// type and destination name (and kind on RabbitMQ; in process only within
// one binder of one service); a dead-letter reader (consumer.dead-letters-of)
// to the dead-letter destination it reads. Its findings are the destinations produced
// but not consumed, consumed but not produced, and dead-letter
// destinations nobody reads; a caller that checks more (streambind graph
// checks partition counts) appends its own.
func Build(services []ServiceSpec) *Model {
	m := &Model{Services: []Service{}, Destinations: []Destination{}, Findings: []Finding{}}
	ids := serviceIDs(services)
	dests := map[destKey]*Destination{}
	node := func(k destKey) *Destination {
		d := dests[k]
		if d == nil {
			d = &Destination{Name: k.name, BinderType: k.typ, Kind: k.kind, Producers: []Ref{}, Consumers: []Ref{}}
			if k.svc >= 0 {
				d.Service, d.Binder = ids[k.svc], k.binder
			}
			dests[k] = d
		}
		return d
	}
	keyOf := func(svc int, b *BindingSpec, kind, name string) destKey {
		k := destKey{typ: b.BinderType, kind: kind, name: name, svc: -1}
		if b.BinderType == typeMemory {
			k.svc, k.binder = svc, b.BinderName
		} else {
			k.broker = b.Broker
		}
		return k
	}
	// Dead-letter destinations first: a RabbitMQ consumer of a DLQ's
	// queue reads the DLQ, not its exchange.
	dlKeys := map[*BindingSpec][]destKey{}
	for si, s := range services {
		for i := range s.Bindings {
			b := &s.Bindings[i]
			if !b.Configured {
				continue
			}
			for _, dst := range b.Destinations {
				n, kind, ok := deadLetter(b, dst)
				if !ok {
					continue
				}
				k := keyOf(si, b, kind, n)
				dlKeys[b] = append(dlKeys[b], k)
				d := node(k)
				d.DeadLetter = true
				d.DeadLettersOf = append(d.DeadLettersOf, Ref{Service: ids[si], Binding: b.Name, Group: b.Group})
			}
		}
	}
	type placed struct {
		svc, binding int
		keys         []destKey
		dls          []destKey
	}
	var bindingsPlaced []placed
	for si, s := range services {
		gs := Service{ID: ids[si], Name: s.Name, Files: append([]string{}, s.Files...), Profiles: append([]string{}, s.Profiles...),
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
			ref := Ref{Service: ids[si], Binding: b.Name}
			pl := placed{svc: si, binding: len(gs.Bindings), dls: dlKeys[b]}
			if b.Input {
				gb.Direction = "in"
				gb.Group = b.Group
				gb.Queues = RabbitQueues(b)
				gb.Concurrency = b.Consumer.Concurrency
				if b.Consumer.Partitioned {
					gb.Partitioned = true
					idx := b.Consumer.InstanceIndex
					gb.InstanceIndex = &idx
					gb.InstanceIndexes = b.Consumer.InstanceIndexes(b.Group)
					gb.IndexQueues = RabbitIndexQueues(b)
				}
				gb.InstanceCount = b.Consumer.InstanceCount
				gb.DeadLetters = DeadLetters(b)
				ref.Group = b.Group
				// A dead-letter reader (consumer.dead-letters-of) reads a
				// dead-letter destination, which its app has made its
				// destination (on RabbitMQ the dead-letter queue, which it
				// consumes directly: its group is the queue's name, with
				// queue-name-group-only), whether or not the binding whose
				// dead letters they are is in the model.
				reader := b.Consumer.DeadLettersOf != ""
				for i, d := range b.Destinations {
					k := keyOf(si, b, destKind(b.BinderType), destName(b, d))
					if i < len(gb.Queues) {
						// A consumer of a dead-letter queue's queue reads
						// the queue.
						if q := keyOf(si, b, KindQueue, gb.Queues[i]); reader || dests[q] != nil && dests[q].DeadLetter {
							k = q
						}
					}
					n := node(k)
					if reader {
						n.DeadLetter = true
					}
					n.Consumers = append(n.Consumers, ref)
					pl.keys = append(pl.keys, k)
				}
			} else {
				p := b.Producer
				gb.PartitionCount = p.PartitionCount
				gb.PartitionKey = p.PartitionKeyExpression
				gb.PartitionKeyExtractor = p.PartitionKeyExtractorName
				gb.RequiredGroups = p.RequiredGroups
				for _, d := range b.Destinations {
					k := keyOf(si, b, destKind(b.BinderType), destName(b, d))
					n := node(k)
					n.Producers = append(n.Producers, ref)
					pl.keys = append(pl.keys, k)
				}
			}
			if b.Function != "" {
				fnBindings[b.Function] = append(fnBindings[b.Function], b.Name)
			}
			gs.Bindings = append(gs.Bindings, gb)
			bindingsPlaced = append(bindingsPlaced, pl)
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
	sort.Slice(keys, func(i, j int) bool { return keys[i].less(keys[j]) })
	// IDs: <type>:<name>, qualified where several destinations have that.
	named := map[[2]string]int{}
	brokerSets := map[[2]string]map[string]bool{}
	for _, k := range keys {
		named[[2]string{k.typ, k.name}]++
		if k.svc < 0 {
			if brokerSets[[2]string{k.typ, k.name}] == nil {
				brokerSets[[2]string{k.typ, k.name}] = map[string]bool{}
			}
			brokerSets[[2]string{k.typ, k.name}][k.broker] = true
		}
	}
	brokers := map[[2]string]int{} // how many brokers have a destination of that type and name
	for tn, set := range brokerSets {
		brokers[tn] = len(set)
	}
	used := map[string]bool{}
	for _, k := range keys {
		d := dests[k]
		id := k.typ + ":" + k.name
		if named[[2]string{k.typ, k.name}] > 1 {
			if k.kind != "" {
				id = k.typ + ":" + k.kind + ":" + k.name
			}
			if k.svc >= 0 {
				id += "@" + d.Service + "/" + k.binder
			}
			if brokers[[2]string{k.typ, k.name}] > 1 {
				d.Broker = k.broker
				id += "@" + k.broker
			}
		}
		base := id
		for n := 2; used[id]; n++ {
			id = base + "#" + strconv.Itoa(n)
		}
		used[id] = true
		d.ID = id
		m.Destinations = append(m.Destinations, *d)
	}
	for _, pl := range bindingsPlaced {
		gb := &m.Services[pl.svc].Bindings[pl.binding]
		gb.DestinationIDs = []string{}
		for _, k := range pl.keys {
			gb.DestinationIDs = append(gb.DestinationIDs, dests[k].ID)
		}
		for _, k := range pl.dls {
			gb.DeadLetterIDs = append(gb.DeadLetterIDs, dests[k].ID)
		}
	}
	m.Findings = findings(m)
	return m
}

// Where names destination d in a message: "<name> (<binder type>)", with
// its kind on RabbitMQ and its service and binder in process when its ID
// is qualified (another destination has its binder type and name).
func (d *Destination) Where() string {
	typ := d.BinderType
	if d.ID != d.BinderType+":"+d.Name {
		if d.Kind != "" {
			typ += " " + d.Kind
		}
		if d.Service != "" {
			typ += ", binder " + d.Binder + " of " + d.Service
		}
		if d.Broker != "" {
			typ += ", broker " + d.Broker
		}
	}
	return d.Name + " (" + typ + ")"
}

// UnreadDeadLetters is a "dead-letters-unread" finding with the
// destination it is about: the bindings whose dead letters go there.
type UnreadDeadLetters struct {
	Finding
	DeadLettersOf []Ref
}

// Unread returns the findings of m about dead-letter destinations of
// binder type typ ("" for every type) that no consumer reads, with the
// bindings whose dead letters they are: streambind graph notes them all,
// and lint warns of the in-process binder's, which drops such dead
// letters. Each DeadLettersOf is a copy: changing it leaves m as it is.
func Unread(m *Model, typ string) []UnreadDeadLetters {
	var out []UnreadDeadLetters
	for _, f := range m.Findings {
		if f.Kind != "dead-letters-unread" || (typ != "" && f.BinderType != typ) {
			continue
		}
		for i := range m.Destinations {
			if d := &m.Destinations[i]; d.ID == f.DestinationID {
				out = append(out, UnreadDeadLetters{Finding: f, DeadLettersOf: slices.Clone(d.DeadLettersOf)})
			}
		}
	}
	return out
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
	for i := range m.Destinations {
		d := &m.Destinations[i]
		where := d.Where()
		f := Finding{DestinationID: d.ID, Destination: d.Name, BinderType: d.BinderType}
		switch {
		case d.DeadLetter && len(d.Consumers) == 0:
			f.Kind = "dead-letters-unread"
			f.Message = fmt.Sprintf("dead letters of %s go to %s, which no consumer reads", refs(d.DeadLettersOf), where)
		case d.DeadLetter:
			continue
		case len(d.Producers) > 0 && len(d.Consumers) == 0:
			f.Kind = "produced-not-consumed"
			f.Message = fmt.Sprintf("%s is produced by %s but consumed by none", where, refs(d.Producers))
		case len(d.Consumers) > 0 && len(d.Producers) == 0:
			f.Kind = "consumed-not-produced"
			f.Message = fmt.Sprintf("%s is consumed by %s but produced by none", where, refs(d.Consumers))
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}
