package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
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
and queues, dead-letter destinations and binders. Services given with one
name (two directories' services, two instances' configurations of one
service) stay apart: they are <name>#1, <name>#2 ... in the order given
(their "id" in the JSON, which refs name them by).

Producers are joined to consumers across services by binder type and
destination, on one broker: two binders of one type meet when they have
the same addresses (on RabbitMQ the same virtual host too), as in lint; on
different addresses (kafka1 on clusterA, kafka2 on clusterB) a destination
of one name is two nodes, each labelled with its broker. On RabbitMQ an exchange is not a queue of its name: a
consumer of the exchange orders.payment.dlq does not read the dead-letter
queue orders.payment.dlq (a consumer whose queue is that one does). An
in-process (memory) destination is one binder's of one service: each
in-process binder is a broker of its own, in its process, so those are
never joined across services or binders. Dead-letter destinations are
named as the binding's binder names them, with its settings (Kafka, NATS
and Redis dlq-name, RabbitMQ dead-letter-queue-name and
queue-name-group-only): where streambind dlq finds them.

Formats: mermaid (default; renders in Markdown on the common code hosts),
dot (Graphviz) and json. graph also reports what only a system-wide view
shows: destinations produced but never consumed, consumed but never
produced, dead-letter destinations nobody reads; on stderr ("note: "
lines), or under "findings" in the JSON. Functions whose bindings are not
configured have kind "unknown" and are drawn without bindings. A binding
of stream.input-bindings is read by a consumer of its name (drawn as one);
the send bridge's output bindings are drawn from a "send bridge" node.

The configuration errors lint reports (of each service, and between the
services given: dlq on a consumer without a group, partition counts and
partitioned consumers that do not fit, NATS destinations that overlap)
are printed on stderr as lint prints them, and the exit status is 1; the
graph is drawn all the same. Lint's warnings are not printed (run lint).
In the JSON, partitions that do not fit are also a "partitions" finding
of their destination. Exit status 2 for bad usage.`,
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
					if f.Kind != "partitions" { // errors, printed below
						fmt.Fprintf(e.stderr, "note: %s\n", printable(f.Message))
					}
				}
			}
			code := exitOK
			if len(bad) > 0 {
				code = exitFailure
			}
			if errs := sys.errors(); len(errs) > 0 {
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
		Broker: b.broker, ContentType: b.contentType, Consumer: b.consumer, Producer: b.producer, Extension: b.ext}
}

// graph builds the topology of the system. The dead-letter destinations
// are named by the bindings' binders (stream.DeadLetterSourcer, as
// streambind dlq finds them); the partition counts that do not fit are
// lint's (partitionFindings).
func (sys *system) graph() *graphModel {
	specs := make([]topology.ServiceSpec, 0, len(sys.services))
	var binders []stream.Binder
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, b := range binders {
			_ = b.Close(ctx)
		}
	}()
	for _, s := range sys.services {
		ss := topology.ServiceSpec{Name: s.name, Files: []string{}, Profiles: hideEach(s.hideSecrets, s.loaded.Profiles)}
		for _, f := range s.loaded.Files {
			ss.Files = append(ss.Files, s.hideSecrets(s.file(s.loadedName(f))))
		}
		for _, f := range s.functions {
			ss.Functions = append(ss.Functions, topology.FunctionSpec{Name: f.name, Kind: f.kind})
		}
		made := map[string]stream.Binder{}
		for _, b := range s.bindings {
			bs := spec(b)
			if fn, ok := boundBy(s.functions, b.function); ok {
				bs.Function = fn
			} else {
				// Configured for a function that runs elsewhere (the
				// binding a dead-letter reader names): only named, no
				// producer or consumer of anything here.
				bs.Configured = false
			}
			if b.input && b.consumer.DLQ && b.group != "" {
				bd, ok := made[b.binderName]
				if !ok {
					bd = namingBinder(s.loaded.Stream, b.binderName, b.binderType)
					made[b.binderName] = bd
					if bd != nil {
						binders = append(binders, bd)
					}
				}
				if ds, ok := bd.(stream.DeadLetterSourcer); ok {
					bs.DeadLetterSource = ds.DeadLetterSource
				}
			}
			ss.Bindings = append(ss.Bindings, bs)
		}
		specs = append(specs, ss)
	}
	m := topology.Build(specs)
	m.Findings = append(m.Findings, sys.partitionFindings(m)...)
	return m
}

// boundBy returns the function of fns that binds the bindings named after
// fn (<fn>-in-<n>, <fn>-out-<n>): fn itself, or the composition whose
// SCSt binding name it is (a|b binds ab-in-0); "" for a binding of the
// send bridge (fn ""). False when none does: the binding is configured
// for a function that runs elsewhere (one a dead-letter reader names).
func boundBy(fns []function, fn string) (string, bool) {
	if fn == "" {
		return "", true
	}
	for _, f := range fns {
		if f.name == fn {
			return fn, true
		}
	}
	for _, f := range fns {
		if stream.SCStComposedBindingName(f.name) == fn {
			return f.name, true
		}
	}
	return "", false
}

// namingBinder creates binder name of type typ as the app would (its
// settings, stream.BinderSettingsOf), without connecting, for it to name
// dead letters; without the files its settings name when they cannot be
// read (names do not depend on them), else with default settings, as
// check does. nil when it cannot be created.
func namingBinder(cfg *stream.Config, name, typ string) stream.Binder {
	f, ok := binderTypes()[typ]
	if !ok {
		return nil
	}
	ctx := context.Background()
	settings := stream.BinderSettingsOf(cfg, name)
	settings.Name, settings.Type, settings.Logger = name, typ, slog.New(slog.DiscardHandler)
	b, err := f(ctx, settings)
	if err != nil {
		settings.SkipFiles = true
		if b, err = f(ctx, settings); err != nil {
			b, err = f(ctx, stream.BinderSettings{Name: name, Type: typ, Logger: settings.Logger})
		}
	}
	if err != nil {
		return nil
	}
	return b
}

// scopes splits the system where its bindings can meet: the bindings on
// brokers, of every service, in one system, and those of each in-process
// binder of each service in one of their own (an in-process binder is a
// broker of its own, in its process). Each binding is in one of them.
// With only selects the bindings (nil: all) and sets their destinations.
func (sys *system) scopes(only func(s *checkedService, b *binding) []string) []*system {
	type scope struct {
		svc    int
		binder string
	}
	var order []scope
	byScope := map[scope]*system{}
	for i, s := range sys.services {
		copies := map[scope]*checkedService{}
		for _, b := range s.bindings {
			if only != nil {
				ds := only(s, b)
				if len(ds) == 0 {
					continue
				}
				c := *b
				c.destinations = ds
				b = &c
			}
			k := scope{svc: -1}
			if b.binderType == memory.Type {
				k = scope{i, b.binderName}
			}
			c := copies[k]
			if c == nil {
				ck := *s.checked
				ck.bindings = nil
				c = &checkedService{service: s.service, checked: &ck}
				copies[k] = c
				sub := byScope[k]
				if sub == nil {
					sub = &system{}
					byScope[k] = sub
					order = append(order, k)
				}
				sub.services = append(sub.services, c)
			}
			c.bindings = append(c.bindings, b)
		}
	}
	out := make([]*system, 0, len(order))
	for _, k := range order {
		out = append(out, byScope[k])
	}
	return out
}

// errors returns the configuration errors lint reports (not its
// warnings): each service's, and those between the bindings that meet
// (lint's consistency checks, within each scope).
func (sys *system) errors() []problem {
	var out []problem
	for _, s := range sys.services {
		for _, ce := range s.problems {
			out = append(out, s.problemOf(ce, false))
		}
	}
	for _, sub := range sys.scopes(nil) {
		for _, p := range sub.consistency() {
			if !p.warning {
				out = append(out, p)
			}
		}
	}
	return sys.hideSecrets(out)
}

// hideSecrets hides in the problems' messages the values that placeholders
// naming secrets filled in, in any of the services (config.Loaded.Secrets):
// a problem between services shows values of several.
func (sys *system) hideSecrets(ps []problem) []problem {
	for i := range ps {
		for _, s := range sys.services {
			ps[i].msg = s.loaded.Secrets.String(ps[i].msg)
			ps[i].loc.file = s.loaded.Secrets.String(ps[i].loc.file)
		}
	}
	return ps
}

// partitionFindings returns a "partitions" finding for each destination
// of m whose producers and partitioned consumers do not fit (lint's
// checks of that destination's bindings alone), its message lint's
// problems of it.
func (sys *system) partitionFindings(m *graphModel) []finding {
	svcIndex := map[*service]int{}
	for i, s := range sys.services {
		svcIndex[s.service] = i
	}
	var out []finding
	for _, d := range m.Destinations {
		if d.DeadLetter || d.Kind == topology.KindQueue {
			continue
		}
		var probs []problem
		for _, sub := range sys.scopes(func(s *checkedService, b *binding) []string {
			if !b.configured || b.binderType != d.BinderType || d.Broker != "" && b.broker != d.Broker {
				return nil
			}
			if d.Service != "" && (m.Services[svcIndex[s.service]].ID != d.Service || b.binderName != d.Binder) {
				return nil
			}
			// d.Name is the name on the broker (a RabbitMQ exchange has
			// the binding's prefix): the binding's destinations named so.
			var ds []string
			for _, x := range b.destinations {
				if destName(b, x) == d.Name {
					ds = append(ds, x)
				}
			}
			return ds
		}) {
			for _, p := range sub.consistency() {
				if p.kind == kindPartitions {
					probs = append(probs, p)
				}
			}
		}
		if len(probs) == 0 {
			continue
		}
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].less(probs[j]) })
		var texts []string
		for _, p := range probs {
			texts = append(texts, p.text())
		}
		out = append(out, finding{Kind: "partitions", DestinationID: d.ID, Destination: d.Name, BinderType: d.BinderType,
			Message: fmt.Sprintf("the partitions of %s do not fit: %s", d.Where(), strings.Join(texts, "; "))})
	}
	return out
}

// loadedName returns the name origins give file p, which the loader read:
// its path relative to the directory the loader read from
// (conf/application.yaml, imported by the base file), or its absolute
// path when it is outside (../shared/common.yaml).
func (s *service) loadedName(p string) string {
	dir, derr := filepath.Abs(s.loadDir)
	abs, perr := filepath.Abs(p)
	if derr != nil || perr != nil {
		return p
	}
	if rel, err := filepath.Rel(dir, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(rel)
	}
	return abs
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
		label := s.ID
		if s.ID != s.Name && len(s.Files) > 0 {
			label += " (" + s.Files[0] + ")" // several services have its name
		}
		c := cluster{id: x.id("svc_" + s.ID), label: label}
		hasBridge := false
		for _, f := range s.Functions {
			c.nodes = append(c.nodes, drawNode{id: x.id(s.ID + "__" + f.Name), lines: []string{f.Name, f.Kind}})
			x.byKey[fnKey(s.ID, f.Name)] = x.id(s.ID + "__" + f.Name)
		}
		for _, b := range s.Bindings {
			if b.Function == "" {
				hasBridge = true
			}
		}
		if hasBridge {
			id := x.id(s.ID + "__send_bridge")
			x.byKey[fnKey(s.ID, "")] = id
			c.nodes = append(c.nodes, drawNode{id: id, lines: []string{"send bridge", "output-bindings"}})
		}
		d.clusters = append(d.clusters, c)
	}
	for _, dst := range m.Destinations {
		lines := []string{dst.Name}
		switch {
		case dst.DeadLetter && dst.Kind == topology.KindQueue:
			lines = append(lines, dst.BinderType+" dead-letter queue")
		case dst.DeadLetter:
			lines = append(lines, dst.BinderType+" dead letters")
		case dst.Kind == topology.KindQueue || dst.ID != dst.BinderType+":"+dst.Name && dst.Kind != "":
			// A queue, or an exchange beside a queue of its name.
			lines = append(lines, dst.BinderType+" "+dst.Kind)
		default:
			lines = append(lines, dst.BinderType)
		}
		if dst.Service != "" && dst.ID != dst.BinderType+":"+dst.Name {
			// In process, beside another binder's or service's of its name.
			lines = append(lines, "binder "+dst.Binder+" of "+dst.Service)
		}
		if dst.Broker != "" {
			// Beside another broker's of its type and name.
			lines = append(lines, "broker "+dst.Broker)
		}
		d.dests = append(d.dests, drawNode{id: x.id("dest_" + dst.ID), lines: lines, dest: true})
	}
	destID := func(id string) string { return x.id("dest_" + id) }
	for _, s := range m.Services {
		for _, b := range s.Bindings {
			fn := x.byKey[fnKey(s.ID, b.Function)]
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
				for _, id := range b.DestinationIDs {
					d.edges = append(d.edges, edge{from: fn, to: destID(id), label: strings.Join(label, "\n")})
				}
				continue
			}
			for i, id := range b.DestinationIDs {
				label := []string{b.Name}
				switch {
				case b.Group == "":
					label = append(label, "anonymous")
				case i < len(b.IndexQueues):
					label = append(label, "queues "+strings.Join(b.IndexQueues[i], ", "))
				case i < len(b.Queues):
					label = append(label, "queue "+b.Queues[i])
				default:
					label = append(label, "group "+b.Group)
				}
				if len(b.InstanceIndexes) > 0 { // instance-index-list: one consumer per index
					label = append(label, fmt.Sprintf("instances %s of %d", strings.Trim(strings.Join(strings.Fields(fmt.Sprint(b.InstanceIndexes)), ","), "[]"), b.InstanceCount))
				} else if b.Partitioned && b.Group != "" { // an anonymous consumer gets every partition
					label = append(label, fmt.Sprintf("instance %d of %d", *b.InstanceIndex, b.InstanceCount))
				}
				if via != "" {
					label = append(label, via)
				}
				d.edges = append(d.edges, edge{from: destID(id), to: fn, label: strings.Join(label, "\n")})
			}
			for _, id := range b.DeadLetterIDs {
				d.edges = append(d.edges, edge{from: fn, to: destID(id), label: "dead letters\n" + b.Name, dashed: true})
			}
		}
	}
	return d
}

// mermaidText escapes text for a quoted Mermaid label (control
// characters as printable writes them).
func mermaidText(s string) string {
	s = printableLines(s)
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

// dotText quotes text for DOT, lines separated by \n (control characters
// as printable writes them).
func dotText(s string) string {
	s = printableLines(s)
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

// hideEach returns the texts with hide applied to each: a profile named
// by a placeholder of a secret (spring.profiles.active: ${DB_PASSWORD})
// is hidden in the graph, as in the loader's messages.
func hideEach(hide func(string) string, texts []string) []string {
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = hide(t)
	}
	return out
}
