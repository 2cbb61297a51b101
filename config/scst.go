package config

import (
	"fmt"
	"strings"

	"github.com/streambind/streambind/stream"
)

// This file adapts Spring Cloud Stream keys that streambind has no key of
// its own for, before the stream section is decoded:
//
//   - stream.function.bindings renames functional bindings
//     (process-in-0: input): it is checked and kept for the app, which
//     names the binding input; its settings stay under input.
//   - stream.poller (SCSt's application-wide poller), with Spring
//     Integration's spring.integration.poller, becomes stream.poller in
//     canonical keys (stream.Config.Poller: scstPollers, in poller.go).
//   - stream.source ("a;b", SCSt 3's output bindings of no function)
//     adds a-out-0 and b-out-0 to stream.output-bindings.
//   - Obsolete keys, which SCSt itself no longer reads or which mean
//     nothing here, are removed with a warning saying why (obsoleteKeys).

// obsoleteKey is a key removed with a warning.
type obsoleteKey struct {
	path []string // below stream, squashed
	why  string
}

var obsoleteKeys = []obsoleteKey{
	{[]string{"kafka", "binder", "zknodes"}, "ZooKeeper settings were removed in SCSt 2.0: Kafka clients talk to the brokers only"},
	{[]string{"kafka", "binder", "defaultzkport"}, "ZooKeeper settings were removed in SCSt 2.0: Kafka clients talk to the brokers only"},
	{[]string{"kafka", "binder", "zkconnectiontimeout"}, "ZooKeeper settings were removed in SCSt 2.0: Kafka clients talk to the brokers only"},
	{[]string{"kafka", "binder", "zksessiontimeout"}, "ZooKeeper settings were removed in SCSt 2.0: Kafka clients talk to the brokers only"},
	{[]string{"kafka", "binder", "offsetupdatetimewindow"}, "removed in SCSt 2.0: offsets are committed by the consumer group"},
	{[]string{"kafka", "binder", "offsetupdatecount"}, "removed in SCSt 2.0: offsets are committed by the consumer group"},
	{[]string{"kafka", "binder", "offsetupdateshutdowntimeout"}, "removed in SCSt 2.0: offsets are committed by the consumer group"},
	{[]string{"overridecloudconnectors"}, "Spring Cloud Connectors were removed in SCSt 3.0"},
	{[]string{"bindingretryinterval"}, "binders retry their broker within stream.binders.<name>.startup-timeout"},
	{[]string{"metrics"}, "SCSt 3.0 removed its metrics binding: metrics are served by management (Prometheus)"},
	{[]string{"integration"}, "Spring Integration settings have no meaning here"},
	{[]string{"function", "autodetect"}, "functions are registered in code and listed in function.definition"},
	{[]string{"function", "batchmode"}, "set consumer.batch-mode on the binding"},
}

// adaptSCSt applies the adaptations above to the stream tree; it returns
// the warnings and the problems.
func adaptSCSt(tree map[string]any, origins map[string]string) (warnings, errs []*stream.ConfigError) {
	at := func(p string) string { return originOf(origins, p) }
	for _, o := range obsoleteKeys {
		if path, ok := takeKey(tree, o.path); ok {
			warnings = append(warnings, &stream.ConfigError{Path: path, Origin: at(path), Msg: "ignored: " + o.why})
		}
	}
	// SCSt's Kafka binder turns on Micrometer observation with
	// enable-observation: here the app traces every binding with
	// OpenTelemetry, so true asks for nothing the binder can add: ignored
	// with a warning saying where tracing is configured (false, SCSt's
	// default, is left to the binder, which accepts it).
	if p, v, ok := lookupSquashed(tree, []string{"kafka", "binder", "enableobservation"}); ok {
		if on, err := toBool(v); err == nil && on {
			_, _ = takeKey(tree, []string{"kafka", "binder", "enableobservation"})
			warnings = append(warnings, &stream.ConfigError{Path: p, Origin: at(p),
				Msg: "ignored: tracing is configured with management.tracing.* (package telemetry, stream.WithTracerProvider), which traces every binding on every binder"})
		}
	}
	if p, v, ok := lookupSquashed(tree, []string{"source"}); ok {
		_, _ = takeKey(tree, []string{"source"})
		s, err := toString(v)
		if err != nil {
			errs = append(errs, &stream.ConfigError{Path: p, Origin: at(p), Msg: err.Error()})
		} else {
			var outs []string
			for _, n := range strings.Split(s, ";") {
				if n = strings.TrimSpace(n); n != "" {
					outs = append(outs, n+"-out-0")
				}
			}
			if cur, _ := tree["output-bindings"].(string); cur != "" {
				outs = append([]string{cur}, outs...)
			}
			tree["output-bindings"] = strings.Join(outs, ";")
			if _, set := origins["stream.output-bindings"]; !set {
				origins["stream.output-bindings"] = at(p)
			}
		}
	}
	w, e := scstBindingKeys(tree, origins)
	warnings, errs = append(warnings, w...), append(errs, e...)
	warnings = append(warnings, misplacedBinderKeys(tree, origins)...)
	warnings = append(warnings, commonKeysInBinderSections(tree, origins)...)
	warnings = append(warnings, ignoredKafkaClientKeys(tree, origins)...)
	warnings = append(warnings, ignoredBinderKeys(tree, origins)...)
	errs = append(errs, binderSectionKeys(tree, origins)...)
	if p, _, ok := lookupSquashed(tree, []string{"kafka", "streams"}); ok {
		_, _ = takeKey(tree, []string{"kafka", "streams"})
		errs = append(errs, &stream.ConfigError{Path: p, Origin: at(p), Msg: "Kafka Streams (SCSt's kafka-streams binder) is not supported: bind plain functions on the Kafka binder (stream.kafka.binder, stream.kafka.bindings)"})
	}
	errs = append(errs, renameFunctionBindings(tree, origins)...)
	return warnings, errs
}

// scstBindingKey is an SCSt consumer or producer property (kind, squashed
// key), or a property of the binding itself (kind ""), that streambind has
// no key of its own for.
type scstBindingKey struct {
	kind, key string
	// accept tells whether the value asks for what streambind does anyway
	// (nil: no value does); the key is then dropped, with warn as the
	// reason of a warning when it is set.
	accept func(v any) bool
	warn   string
	why    string // the refusal's reason and what to do
}

func isBool(want bool) func(any) bool {
	return func(v any) bool { b, err := toBool(v); return err == nil && b == want }
}

const springBean = "it names a Spring bean, and there are none here: "

var scstOnlyBindingKeys = []scstBindingKey{
	{kind: "consumer", key: "multiplex", accept: func(v any) bool { _, err := toBool(v); return err == nil },
		warn: "multiplex only changes how SCSt shares listener containers among the destinations of the list; the binding consumes each of them either way"},
	{kind: "consumer", key: "retrytemplatename",
		why: springBean + "set max-attempts and back-off-initial-interval, -multiplier, -max-interval (or retry-delays)"},
	{kind: "producer", key: "partitionselectorname",
		why: springBean + "use partition-selector-expression (or partition-key-extractor-name with a key extractor registered by stream.WithKeyExtractor)"},
	{kind: "producer", key: "errorchannelenabled", accept: isBool(false),
		why: "true is not supported: there is no error channel; a failed send is returned by Bridge().Send, and leaves a function's input for redelivery"},
	{kind: "producer", key: "dynamicpartitionupdatesenabled", accept: isBool(false),
		why: "true is not supported: a partitioned producer keeps the partition count it started with (SCSt's Kafka binder can follow partitions added at run time); restart the app after adding partitions"},
	{kind: "producer", key: "splitmode", accept: isBool(false),
		why: "true is not supported: streambind has no split mode; what a function returns is sent as one message"},
}

// scstBindingKeys handles scstOnlyBindingKeys under stream.default and every
// stream.bindings.<name>, before decoding.
func scstBindingKeys(tree map[string]any, origins map[string]string) (warnings, errs []*stream.ConfigError) {
	var sections [][]string
	if _, ok := tree["default"].(map[string]any); ok {
		sections = append(sections, []string{"default"})
	}
	if bs, ok := tree["bindings"].(map[string]any); ok {
		for _, b := range sortedKeys(bs) {
			sections = append(sections, []string{"bindings", b})
		}
	}
	for _, sec := range sections {
		// producer.poller's keys are stream.PollerConfig's but
		// receive-timeout, which SCSt reads for polling consumers only.
		_, _ = takeKey(tree, append(append([]string(nil), sec...), "producer", "poller", "receivetimeout"))
		if e, warn := producerPartitioned(tree, origins, sec); e != nil {
			if warn {
				warnings = append(warnings, e)
			} else {
				errs = append(errs, e)
			}
		}
		for _, k := range scstOnlyBindingKeys {
			path := append([]string(nil), sec...)
			if k.kind != "" {
				path = append(path, k.kind)
			}
			path = append(path, k.key)
			p, v, ok := lookupSquashed(tree, path)
			if !ok {
				continue
			}
			_, _ = takeKey(tree, path)
			e := &stream.ConfigError{Path: p, Origin: originOf(origins, p)}
			switch {
			case k.accept != nil && k.accept(v):
				if k.warn != "" {
					e.Msg = "ignored: " + k.warn
					warnings = append(warnings, e)
				}
			default:
				e.Msg = k.why
				if _, err := toBool(v); k.accept != nil && err != nil {
					e.Msg = err.Error() // every such key is a boolean
				}
				errs = append(errs, e)
			}
		}
	}
	return warnings, errs
}

// producerPartitioned takes producer.partitioned out of section sec
// (stream.default or stream.bindings.<name>). SCSt 3+ has no such setting:
// ProducerProperties.isPartitioned() is derived, true when
// partition-key-expression or partition-key-extractor-name is set, as
// stream.ProducerConfig.IsPartitioned is here; older SCSt files (and its
// RabbitMQ partitioning example) still write partitioned: true beside the
// key expression. A value that agrees with the binding's key settings (its
// own or stream.default's) is dropped without a word; one that does not
// (true with neither set, false with one set) is dropped with a warning
// saying it has no effect and what partitions the producer (Spring Boot,
// finding no setter, fails SCSt's start-up there: "No setter found for
// property: partitioned"). A value that is not a boolean is an error.
func producerPartitioned(tree map[string]any, origins map[string]string, sec []string) (e *stream.ConfigError, warn bool) {
	path := append(append([]string(nil), sec...), "producer", "partitioned")
	p, v, ok := lookupSquashed(tree, path)
	if !ok {
		return nil, false
	}
	_, _ = takeKey(tree, path)
	e = &stream.ConfigError{Path: p, Origin: originOf(origins, p)}
	on, err := toBool(v)
	if err != nil {
		e.Msg = err.Error()
		return e, false
	}
	keyed := func(sec []string) bool {
		for _, k := range []string{"partitionkeyexpression", "partitionkeyextractorname"} {
			if _, v, ok := lookupSquashed(tree, append(append([]string(nil), sec...), "producer", k)); ok {
				if s, err := toString(v); err == nil && strings.TrimSpace(s) != "" {
					return true
				}
			}
		}
		return false
	}
	partitioned := keyed(sec) || (sec[0] != "default" && keyed([]string{"default"}))
	switch {
	case on && !partitioned:
		e.Msg = "ignored: partitioned: true has no effect without partition-key-expression or partition-key-extractor-name, which make a producer partitioned (SCSt 3+ derives partitioned from them; partition-count alone only sizes the destination): the producer is not partitioned"
	case !on && partitioned:
		e.Msg = "ignored: partitioned: false does not turn partitioning off: the producer is partitioned by its partition-key-expression (or partition-key-extractor-name), from which SCSt 3+ derives partitioned"
	default:
		return nil, false
	}
	return e, true
}

// renameFunctionBindings checks stream.function.bindings and leaves it,
// normalised, for stream.Config.Function.Bindings: the bindings keep the
// names the configuration gives them (stream.bindings.input), and the app
// names the functional binding by them. A section that configures a
// binding under both names is an error.
func renameFunctionBindings(tree map[string]any, origins map[string]string) []*stream.ConfigError {
	fn, _ := tree["function"].(map[string]any)
	key, ok := mapKey(fn, "bindings")
	if !ok {
		return nil
	}
	base := "stream.function." + key
	renames, isMap := fn[key].(map[string]any)
	if !isMap {
		delete(fn, key)
		return []*stream.ConfigError{{Path: base, Origin: originOf(origins, base), Msg: "expected a map of functional binding names to the names the configuration uses (process-in-0: input)"}}
	}
	var errs []*stream.ConfigError
	byCustom := map[string]string{}
	kept := map[string]any{}
	for _, functional := range sortedKeys(renames) {
		p := base + "." + functional
		custom, err := toString(renames[functional])
		custom = strings.TrimSpace(custom)
		lc := strings.ToLower(custom)
		switch {
		case err != nil || renames[functional] == nil || custom == "":
			errs = append(errs, &stream.ConfigError{Path: p, Origin: originOf(origins, p), Msg: "expected the binding name the configuration uses"})
			continue
		case byCustom[lc] != "":
			errs = append(errs, &stream.ConfigError{Path: p, Origin: originOf(origins, p), Msg: fmt.Sprintf("%s is already the name of %s", custom, byCustom[lc])})
			continue
		case strings.EqualFold(custom, functional):
			continue
		}
		byCustom[lc] = functional
		kept[functional] = custom
		// stream.bindings and stream.<type>.bindings.
		var sections [][]string
		sections = append(sections, []string{"bindings"})
		for _, k := range sortedKeys(tree) {
			if m, ok := tree[k].(map[string]any); ok {
				if _, ok := m["bindings"].(map[string]any); ok && k != "bindings" && k != "function" {
					sections = append(sections, []string{k, "bindings"})
				}
			}
		}
		for _, sec := range sections {
			bs, _ := lookupPath(tree, sec).(map[string]any)
			ck, ok := mapKey(bs, lc)
			if !ok {
				continue
			}
			secPath := "stream." + strings.Join(sec, ".")
			if fk, clash := mapKey(bs, functional); clash {
				errs = append(errs, &stream.ConfigError{Path: secPath + "." + ck, Origin: originOf(origins, secPath+"."+ck),
					Msg: fmt.Sprintf("configures %s, which %s renames to %s, and %s.%s configures it too: use one name", functional, base, custom, secPath, fk)})
			}
		}
	}
	fn[key] = kept
	return errs
}

// lookupPath returns the value at path (exact keys) below m, or nil.
func lookupPath(m map[string]any, path []string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// lookupSquashed finds the key path (squashed segments) below tree and
// returns its full key path ("stream.a.b") and value.
func lookupSquashed(tree map[string]any, path []string) (string, any, bool) {
	var v any = tree
	full := "stream"
	for _, seg := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return "", nil, false
		}
		k, ok := mapKey(m, seg)
		if !ok {
			return "", nil, false
		}
		full += "." + k
		v = m[k]
	}
	return full, v, true
}

// takeKey removes the key at path (squashed segments) below tree and
// returns its full key path; maps left empty stay.
func takeKey(tree map[string]any, path []string) (string, bool) {
	full, _, ok := lookupSquashed(tree, path)
	if !ok {
		return "", false
	}
	m := tree
	for _, seg := range path[:len(path)-1] {
		k, _ := mapKey(m, seg)
		m = m[k].(map[string]any)
	}
	k, _ := mapKey(m, path[len(path)-1])
	delete(m, k)
	return full, true
}

// instanceIndexFromEnv gives stream.instance-index, when no file or
// variable of the stream section sets it, the value of INSTANCE_INDEX, else
// CF_INSTANCE_INDEX: SCSt's default (BindingServiceProperties'
// instanceIndex is @Value("${INSTANCE_INDEX:${CF_INSTANCE_INDEX:0}}")),
// which Spring Cloud Data Flow's deployers and Cloud Foundry set for each
// instance of a partitioned app. Without it every instance of such an app
// was instance 0: on RabbitMQ all of them consumed partition 0's queue and
// no one the others'. It applies only with stream.instance-count set,
// which is what makes an index mean anything (and what SCSt needs for
// partitioned consumers): Cloud Foundry sets CF_INSTANCE_INDEX for every
// instance of every app, and an index at or above instance-count (1 when
// not set) is an error at start-up.
func instanceIndexFromEnv(raw map[string]any, env map[string]string, origins map[string]string) {
	tree, _ := raw["stream"].(map[string]any)
	if _, _, set := lookupSquashed(tree, []string{"instancecount"}); !set {
		return
	}
	if _, _, set := lookupSquashed(tree, []string{"instanceindex"}); set {
		return
	}
	for _, name := range []string{"INSTANCE_INDEX", "CF_INSTANCE_INDEX"} {
		v, ok := env[name]
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		tree["instance-index"] = strings.TrimSpace(v)
		origins["stream.instance-index"] = "env " + name
		return
	}
}
