package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// The topology, as graph prints it in JSON; Mermaid and DOT are drawn from
// it.
type graphModel struct {
	Services     []graphService `json:"services"`
	Destinations []graphDest    `json:"destinations"`
	// Findings are what only a system-wide view shows.
	Findings []finding `json:"findings"`
}

type graphService struct {
	Name      string          `json:"name"`
	Files     []string        `json:"files"`
	Profiles  []string        `json:"profiles"`
	Binders   []graphBinder   `json:"binders"`
	Functions []graphFunction `json:"functions"`
	Bindings  []graphBinding  `json:"bindings"`
}

type graphBinder struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type graphFunction struct {
	Name string `json:"name"`
	// Kind is supplier, function, consumer, or unknown when no binding of
	// it is configured (its type decides, in code).
	Kind     string   `json:"kind"`
	Bindings []string `json:"bindings"`
}

type graphBinding struct {
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

// graphDest is a destination (topic, exchange, subject) or a dead-letter
// destination, identified by binder type and name.
type graphDest struct {
	ID         string `json:"id"` // <binder type>:<name>
	Name       string `json:"name"`
	BinderType string `json:"binder_type"`
	// DeadLetter is true for a dead-letter destination (on RabbitMQ the
	// queue <destination>.<group>.dlq on exchange DLX).
	DeadLetter    bool       `json:"dead_letter,omitempty"`
	Producers     []graphRef `json:"producers"`
	DeadLettersOf []graphRef `json:"dead_letters_of,omitempty"`
	Consumers     []graphRef `json:"consumers"`
}

type graphRef struct {
	Service string `json:"service"`
	Binding string `json:"binding"`
	Group   string `json:"group,omitempty"`
}

// finding is something graph reports beside the picture.
type finding struct {
	// Kind: produced-not-consumed, consumed-not-produced,
	// dead-letters-unread, partitions.
	Kind        string `json:"kind"`
	Destination string `json:"destination,omitempty"`
	BinderType  string `json:"binder_type,omitempty"`
	Message     string `json:"message"`
}

func newGraphCmd(e *runEnv) *cobra.Command {
	var lf loadFlags
	var format string
	cmd := &cobra.Command{
		Use:   "graph [PATH...]",
		Short: "Draw the topology of a service or of a system of services",
		Long: `graph draws the topology of one service, or of a system given several
services' configurations: services (named by spring.application.name, else
by the directory of their file), functions, bindings, destinations, groups
and queues, dead-letter destinations and binders. Producers are joined to
consumers across services by binder type and destination.

Formats: mermaid (default; renders in Markdown on the common code hosts),
dot (Graphviz) and json. graph also reports what only a system-wide view
shows: destinations produced but never consumed, consumed but never
produced, dead-letter destinations nobody reads, and partition counts that
disagree between producers and consumers; on stderr ("note: " lines), or
under "findings" in the JSON. Functions whose bindings are not configured
have kind "unknown" and are drawn without bindings.

Exit status 1 when a configuration has errors (they are printed on stderr
as lint prints them; the graph is drawn all the same), 2 for bad usage.`,
		Example: "  streambind graph > topology.mmd\n" +
			"  streambind graph --profile kafka orders/ billing/ shipping/\n" +
			"  streambind graph --format dot services/*/ | dot -Tsvg > system.svg\n" +
			"  streambind graph --format json . | jq '.findings'",
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "mermaid", "dot", "json":
			default:
				return usage("--format: want mermaid, dot or json, got %q", format)
			}
			sys, bad := loadSystem(e, args, lf.profiles(cmd))
			for _, err := range bad {
				fmt.Fprintf(e.stderr, "streambind: %v\n", err)
			}
			if len(sys.services) == 0 {
				return silent(exitFailure)
			}
			m := sys.graph()
			var err error
			switch format {
			case "mermaid":
				err = writeMermaid(cmd.OutOrStdout(), m)
			case "dot":
				err = writeDOT(cmd.OutOrStdout(), m)
			case "json":
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				err = enc.Encode(m)
			}
			if err != nil {
				return failed(err)
			}
			if format != "json" {
				for _, f := range m.Findings {
					fmt.Fprintf(e.stderr, "note: %s\n", f.Message)
				}
			}
			code := exitOK
			if len(bad) > 0 {
				code = exitFailure
			}
			var errs []problem
			for _, s := range sys.services {
				for _, ce := range s.problems {
					errs = append(errs, problem{loc: s.locate(ce.Origin), key: ce.Path, msg: ce.Msg})
				}
			}
			if len(errs) > 0 {
				printProblems(e.stderr, errs, false, false)
				code = exitFailure
			}
			if code != exitOK {
				return silent(code)
			}
			return nil
		},
	}
	lf.add(cmd)
	cmd.Flags().StringVar(&format, "format", "mermaid", "output format: mermaid, dot or json")
	return cmd
}

// deadLetters returns the dead-letter destination of consumer b for each
// of its destinations (none without dlq or group), as its binder names
// it: Kafka and NATS a dlq-name or error.<destination>.<group>, RabbitMQ
// the queue <destination>.<group>.dlq, any other binder
// error.<destination>.<group>.
func deadLetters(b *binding) []string {
	if !b.input || !b.consumer.DLQ || b.group == "" {
		return nil
	}
	var out []string
	for _, d := range b.destinations {
		switch b.binderType {
		case rabbit.Type:
			out = append(out, d+"."+b.group+".dlq")
		case kafka.Type, nats.Type:
			if n := extString(b.ext, "dlq-name"); n != "" {
				out = append(out, n)
				continue
			}
			out = append(out, stream.DLQName(d, b.group))
		default:
			out = append(out, stream.DLQName(d, b.group))
		}
	}
	return out
}

// rabbitQueues returns the queues a RabbitMQ consumer reads, one per
// destination.
func rabbitQueues(b *binding) []string {
	if b.binderType != rabbit.Type || !b.input || b.group == "" {
		return nil
	}
	var out []string
	for _, d := range b.destinations {
		switch {
		case groupOnly(b):
			out = append(out, b.group)
		case b.consumer.Partitioned:
			out = append(out, d+"."+b.group+"-"+strconv.Itoa(b.consumer.InstanceIndex))
		default:
			out = append(out, d+"."+b.group)
		}
	}
	return out
}

// graph builds the topology of the system.
func (sys *system) graph() *graphModel {
	m := &graphModel{Services: []graphService{}, Destinations: []graphDest{}, Findings: []finding{}}
	dests := map[destKey]*graphDest{}
	node := func(k destKey) *graphDest {
		d := dests[k]
		if d == nil {
			d = &graphDest{ID: k.typ + ":" + k.name, Name: k.name, BinderType: k.typ, Producers: []graphRef{}, Consumers: []graphRef{}}
			dests[k] = d
		}
		return d
	}
	// Dead-letter destinations first: a RabbitMQ consumer of a DLQ's
	// queue reads the DLQ, not its exchange.
	rabbitDLQs := map[string]bool{}
	for _, s := range sys.services {
		for _, b := range s.bindings {
			if !b.configured {
				continue
			}
			for _, n := range deadLetters(b) {
				d := node(destKey{b.binderType, n})
				d.DeadLetter = true
				d.DeadLettersOf = append(d.DeadLettersOf, graphRef{Service: s.name, Binding: b.name, Group: b.group})
				if b.binderType == rabbit.Type {
					rabbitDLQs[n] = true
				}
			}
		}
	}
	for _, s := range sys.services {
		gs := graphService{Name: s.name, Files: []string{}, Profiles: []string{}, Binders: []graphBinder{},
			Functions: []graphFunction{}, Bindings: []graphBinding{}}
		for _, f := range s.loaded.Files {
			gs.Files = append(gs.Files, s.file(fileName(f)))
		}
		gs.Profiles = append(gs.Profiles, s.loaded.Profiles...)
		binders := map[string]string{}
		fnBindings := map[string][]string{}
		// Bindings in the order of the definition, inputs first; those of
		// the send bridge last.
		rank := map[string]int{}
		for i, f := range s.functions {
			rank[f.name] = i
		}
		bindings := append([]*binding(nil), s.bindings...)
		sort.SliceStable(bindings, func(i, j int) bool {
			a, b := bindings[i], bindings[j]
			ra, aok := rank[a.function]
			rb, bok := rank[b.function]
			switch {
			case aok != bok:
				return aok
			case ra != rb:
				return ra < rb
			case a.input != b.input:
				return a.input
			}
			return a.name < b.name
		})
		for _, b := range bindings {
			if !b.configured {
				continue
			}
			binders[b.binderName] = b.binderType
			gb := graphBinding{Name: b.name, Function: b.function, Direction: "out", Destinations: b.destinations,
				Binder: b.binderName, BinderType: b.binderType, ContentType: b.contentType}
			ref := graphRef{Service: s.name, Binding: b.name}
			if b.input {
				gb.Direction = "in"
				gb.Group = b.group
				gb.Queues = rabbitQueues(b)
				gb.Concurrency = b.consumer.Concurrency
				if b.consumer.Partitioned {
					gb.Partitioned = true
					idx := b.consumer.InstanceIndex
					gb.InstanceIndex = &idx
				}
				gb.InstanceCount = b.consumer.InstanceCount
				gb.DeadLetters = deadLetters(b)
				ref.Group = b.group
				for i, d := range b.destinations {
					k := destKey{b.binderType, d}
					if b.binderType == rabbit.Type && i < len(gb.Queues) && rabbitDLQs[gb.Queues[i]] {
						k = destKey{b.binderType, gb.Queues[i]}
					}
					node(k).Consumers = append(node(k).Consumers, ref)
				}
			} else {
				p := b.producer
				gb.PartitionCount = p.PartitionCount
				gb.PartitionKey = p.PartitionKeyExpression
				gb.PartitionKeyExtractor = p.PartitionKeyExtractorName
				gb.RequiredGroups = p.RequiredGroups
				for _, d := range b.destinations {
					n := node(destKey{b.binderType, d})
					n.Producers = append(n.Producers, ref)
				}
			}
			if b.function != "" {
				fnBindings[b.function] = append(fnBindings[b.function], b.name)
			}
			gs.Bindings = append(gs.Bindings, gb)
		}
		for _, f := range s.functions {
			bs := fnBindings[f.name]
			if bs == nil {
				bs = []string{}
			}
			gs.Functions = append(gs.Functions, graphFunction{Name: f.name, Kind: f.kind, Bindings: bs})
		}
		for _, n := range sortedKeysOf(binders) {
			gs.Binders = append(gs.Binders, graphBinder{Name: n, Type: binders[n]})
		}
		m.Services = append(m.Services, gs)
	}
	for _, k := range sortedDestKeys(dests) {
		m.Destinations = append(m.Destinations, *dests[k])
	}
	m.Findings = sys.findings(m)
	return m
}

// findings returns what the system-wide view shows.
func (sys *system) findings(m *graphModel) []finding {
	out := []finding{}
	refs := func(rs []graphRef) string {
		var s []string
		for _, r := range rs {
			name := r.Binding
			if len(sys.services) > 1 {
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
			out = append(out, finding{Kind: "dead-letters-unread", Destination: d.Name, BinderType: d.BinderType,
				Message: fmt.Sprintf("dead letters of %s go to %s, which no consumer reads", refs(d.DeadLettersOf), where)})
		case d.DeadLetter:
		case len(d.Producers) > 0 && len(d.Consumers) == 0:
			out = append(out, finding{Kind: "produced-not-consumed", Destination: d.Name, BinderType: d.BinderType,
				Message: fmt.Sprintf("%s is produced by %s but consumed by none", where, refs(d.Producers))})
		case len(d.Consumers) > 0 && len(d.Producers) == 0:
			out = append(out, finding{Kind: "consumed-not-produced", Destination: d.Name, BinderType: d.BinderType,
				Message: fmt.Sprintf("%s is consumed by %s but produced by none", where, refs(d.Consumers))})
		}
	}
	var parts []problem
	for _, p := range sys.consistency() {
		if p.kind == kindPartitions {
			parts = append(parts, p)
		}
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].less(parts[j]) })
	for _, p := range parts {
		out = append(out, finding{Kind: "partitions", Message: p.text()})
	}
	return out
}

// fileName returns the name of a file the loader read, as its origins
// name it (the loader reads them from the service's directory).
func fileName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ids gives the nodes of a drawing identifiers made of letters, digits
// and '_' that stay the same from run to run.
type ids struct {
	byKey map[string]string
	used  map[string]bool
}

func newIDs() *ids { return &ids{byKey: map[string]string{}, used: map[string]bool{}} }

func (x *ids) id(key string) string {
	if id, ok := x.byKey[key]; ok {
		return id
	}
	var b strings.Builder
	for _, r := range key {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	id := b.String()
	for n := 2; x.used[id]; n++ {
		id = b.String() + "_" + strconv.Itoa(n)
	}
	x.used[id] = true
	x.byKey[key] = id
	return id
}

// edge is one arrow of a drawing.
type edge struct {
	from, to, label string
	dashed          bool
}

// drawing is the graph model as nodes and edges, shared by Mermaid and
// DOT.
type drawing struct {
	clusters []cluster
	dests    []drawNode
	edges    []edge
}

type cluster struct {
	id, label string
	nodes     []drawNode
}

type drawNode struct {
	id    string
	lines []string
	dest  bool
}

func fnKey(service, fn string) string { return "fn:" + service + ":" + fn }

func draw(m *graphModel) *drawing {
	x := newIDs()
	d := &drawing{}
	for _, s := range m.Services {
		c := cluster{id: x.id("svc_" + s.Name), label: s.Name}
		hasBridge := false
		for _, f := range s.Functions {
			c.nodes = append(c.nodes, drawNode{id: x.id(s.Name + "__" + f.Name), lines: []string{f.Name, f.Kind}})
			x.byKey[fnKey(s.Name, f.Name)] = x.id(s.Name + "__" + f.Name)
		}
		for _, b := range s.Bindings {
			if b.Function == "" {
				hasBridge = true
			}
		}
		if hasBridge {
			id := x.id(s.Name + "__send_bridge")
			x.byKey[fnKey(s.Name, "")] = id
			c.nodes = append(c.nodes, drawNode{id: id, lines: []string{"send bridge", "output-bindings"}})
		}
		d.clusters = append(d.clusters, c)
	}
	for _, dst := range m.Destinations {
		lines := []string{dst.Name}
		switch {
		case dst.DeadLetter && dst.BinderType == rabbit.Type:
			lines = append(lines, dst.BinderType+" dead-letter queue")
		case dst.DeadLetter:
			lines = append(lines, dst.BinderType+" dead letters")
		default:
			lines = append(lines, dst.BinderType)
		}
		d.dests = append(d.dests, drawNode{id: x.id("dest_" + dst.ID), lines: lines, dest: true})
	}
	destID := func(typ, name string) string { return x.id("dest_" + typ + ":" + name) }
	for _, s := range m.Services {
		for _, b := range s.Bindings {
			fn := x.byKey[fnKey(s.Name, b.Function)]
			via := ""
			if b.Binder != b.BinderType {
				via = "binder " + b.Binder
			}
			if b.Direction == "out" {
				label := []string{b.Name}
				if b.PartitionCount > 1 || b.PartitionKey != "" || b.PartitionKeyExtractor != "" {
					key := b.PartitionKey
					if key == "" {
						key = b.PartitionKeyExtractor
					}
					label = append(label, fmt.Sprintf("%d partitions by %s", b.PartitionCount, key))
				}
				if len(b.RequiredGroups) > 0 {
					label = append(label, "required-groups "+strings.Join(b.RequiredGroups, ","))
				}
				if via != "" {
					label = append(label, via)
				}
				for _, dst := range b.Destinations {
					d.edges = append(d.edges, edge{from: fn, to: destID(b.BinderType, dst), label: strings.Join(label, "\n")})
				}
				continue
			}
			for i, dst := range b.Destinations {
				label := []string{b.Name}
				switch {
				case b.Group == "":
					label = append(label, "anonymous")
				case i < len(b.Queues):
					label = append(label, "queue "+b.Queues[i])
				default:
					label = append(label, "group "+b.Group)
				}
				if b.Partitioned {
					label = append(label, fmt.Sprintf("instance %d of %d", *b.InstanceIndex, b.InstanceCount))
				}
				if via != "" {
					label = append(label, via)
				}
				from := destID(b.BinderType, dst)
				if i < len(b.Queues) {
					if id, ok := x.byKey["dest_"+b.BinderType+":"+b.Queues[i]]; ok {
						from = id // the RabbitMQ consumer of a dead-letter queue
					}
				}
				d.edges = append(d.edges, edge{from: from, to: fn, label: strings.Join(label, "\n")})
			}
			for _, dl := range b.DeadLetters {
				d.edges = append(d.edges, edge{from: fn, to: destID(b.BinderType, dl), label: "dead letters\n" + b.Name, dashed: true})
			}
		}
	}
	return d
}

// mermaidText escapes text for a quoted Mermaid label.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "|", "#124;", "<", "#lt;", ">", "#gt;", "\n", "<br/>").Replace(s)
}

func writeMermaid(w io.Writer, m *graphModel) error {
	d := draw(m)
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, c := range d.clusters {
		fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n", c.id, mermaidText(c.label))
		for _, n := range c.nodes {
			fmt.Fprintf(&b, "    %s[\"%s\"]\n", n.id, mermaidText(n.lines[0]+"\n"+n.lines[1]))
		}
		b.WriteString("  end\n")
	}
	for _, n := range d.dests {
		fmt.Fprintf(&b, "  %s[(\"%s\")]\n", n.id, mermaidText(strings.Join(n.lines, "\n")))
	}
	for _, e := range d.edges {
		arrow := "-->"
		if e.dashed {
			arrow = "-.->"
		}
		fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", e.from, arrow, mermaidText(e.label), e.to)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// dotText quotes text for DOT, lines separated by \n.
func dotText(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
	return `"` + s + `"`
}

func writeDOT(w io.Writer, m *graphModel) error {
	d := draw(m)
	var b strings.Builder
	b.WriteString("digraph streambind {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n")
	for _, c := range d.clusters {
		fmt.Fprintf(&b, "  subgraph cluster_%s {\n    label=%s;\n", c.id, dotText(c.label))
		for _, n := range c.nodes {
			fmt.Fprintf(&b, "    %s [shape=box, style=rounded, label=%s];\n", n.id, dotText(n.lines[0]+"\n"+n.lines[1]))
		}
		b.WriteString("  }\n")
	}
	for _, n := range d.dests {
		fmt.Fprintf(&b, "  %s [shape=cylinder, label=%s];\n", n.id, dotText(strings.Join(n.lines, "\n")))
	}
	for _, e := range d.edges {
		style := ""
		if e.dashed {
			style = ", style=dashed"
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%s%s];\n", e.from, e.to, dotText(e.label), style)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
