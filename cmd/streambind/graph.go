package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/topology"
)

// The topology, as graph prints it in JSON; Mermaid and DOT are drawn from
// it. The model and its builder are package topology's, which the
// management server's GET /actuator/topology serves too.
type (
	graphModel = topology.Model
	graphRef   = topology.Ref
	finding    = topology.Finding
)

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
					errs = append(errs, s.problemOf(ce, false))
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

// spec describes a binding as package topology wants it.
func spec(b *binding) topology.BindingSpec {
	return topology.BindingSpec{Name: b.name, Function: b.function, Input: b.input, Configured: b.configured,
		Destinations: b.destinations, Group: b.group, BinderName: b.binderName, BinderType: b.binderType,
		ContentType: b.contentType, Consumer: b.consumer, Producer: b.producer, Extension: b.ext}
}

// graph builds the topology of the system.
func (sys *system) graph() *graphModel {
	specs := make([]topology.ServiceSpec, 0, len(sys.services))
	for _, s := range sys.services {
		ss := topology.ServiceSpec{Name: s.name, Files: []string{}, Profiles: s.loaded.Profiles}
		for _, f := range s.loaded.Files {
			ss.Files = append(ss.Files, s.file(fileName(f)))
		}
		for _, f := range s.functions {
			ss.Functions = append(ss.Functions, topology.FunctionSpec{Name: f.name, Kind: f.kind})
		}
		for _, b := range s.bindings {
			ss.Bindings = append(ss.Bindings, spec(b))
		}
		specs = append(specs, ss)
	}
	m := topology.Build(specs)
	// What only the configuration checks show: partition counts that
	// disagree between producers and consumers.
	var parts []problem
	for _, p := range sys.consistency() {
		if p.kind == kindPartitions {
			parts = append(parts, p)
		}
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].less(parts[j]) })
	for _, p := range parts {
		m.Findings = append(m.Findings, finding{Kind: "partitions", Message: p.text()})
	}
	return m
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
