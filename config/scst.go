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
//   - stream.poller.fixed-delay (SCSt's application-wide poller) becomes
//     stream.default.producer.poller.fixed-delay.
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

// lifted is an SCSt key moved to streambind's key.
var liftedKeys = []struct{ from, to []string }{
	{[]string{"poller", "fixeddelay"}, []string{"default", "producer", "poller", "fixed-delay"}},
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
	if _, _, ok := lookupSquashed(tree, []string{"poller"}); ok {
		w, e := pollerOnlyKeys(tree, []string{"poller"}, origins)
		warnings, errs = append(warnings, w...), append(errs, e...)
	}
	for _, l := range liftedKeys {
		from, v, ok := lookupSquashed(tree, l.from)
		if !ok {
			continue
		}
		to := "stream." + strings.Join(l.to, ".")
		if _, cur, set := lookupSquashed(tree, squashAll(l.to)); set && fmt.Sprint(cur) != fmt.Sprint(v) {
			errs = append(errs, &stream.ConfigError{Path: from, Origin: at(from), Msg: fmt.Sprintf("is %v but %s is %v (set one of them)", v, to, cur)})
			_, _ = takeKey(tree, l.from)
			continue
		}
		_, _ = takeKey(tree, l.from)
		ensureMapPath(tree, l.to[:len(l.to)-1])[l.to[len(l.to)-1]] = v
		moveOrigins(origins, from, to)
	}
	if p, v, ok := lookupSquashed(tree, []string{"poller"}); ok {
		if m, isMap := v.(map[string]any); isMap && len(m) == 0 {
			_, _ = takeKey(tree, []string{"poller"})
		} else if isMap {
			for _, k := range sortedKeys(m) {
				errs = append(errs, &stream.ConfigError{Path: p + "." + k, Origin: at(p + "." + k), Msg: "unknown key of stream.poller (fixed-delay is read, as the default of producer.poller.fixed-delay)"})
			}
			_, _ = takeKey(tree, []string{"poller"})
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

// pollerKey is a key of SCSt's poller (stream.poller, a binding's
// producer.poller; Spring Integration's spring.integration.poller, which
// SCSt 3.2 and later read instead) that streambind has no key for:
// accept tells the values that ask for what a polled supplier does anyway
// (dropped silently); any other value is a warning (warn) or refused
// (why), the key named.
type pollerKey struct {
	key       string // squashed
	accept    func(v any) bool
	warn, why string
}

var pollerKeys = []pollerKey{
	{key: "maxmessagesperpoll", accept: func(v any) bool { n, err := toInt(v); return err == nil && n == 1 },
		why: "is not supported but at 1 (SCSt's default): a polled supplier is called once per poll, where SCSt calls it up to max-messages-per-poll times (until it returns null); shorten producer.poller.fixed-delay, or send from a channel (stream.AddSource) as fast as messages come"},
	{key: "cron", accept: func(v any) bool { s, err := toString(v); return err == nil && strings.TrimSpace(s) == "" },
		why: "is not supported: a polled supplier is called every producer.poller.fixed-delay, there are no cron schedules; set fixed-delay, or drive the supplier from a channel (stream.AddSource) on your own schedule"},
	{key: "initialdelay", accept: func(v any) bool { d, err := toDuration(v); return err == nil && d == 0 },
		warn: "a polled supplier is first called at start-up, then every producer.poller.fixed-delay"},
	{key: "receivetimeout", accept: func(any) bool { return true }},
}

// pollerOnlyKeys handles pollerKeys in the poller map at path below tree
// (stream.poller, stream.bindings.<b>.producer.poller, ...).
func pollerOnlyKeys(tree map[string]any, path []string, origins map[string]string) (warnings, errs []*stream.ConfigError) {
	for _, k := range pollerKeys {
		kp := append(append([]string(nil), path...), k.key)
		p, v, ok := lookupSquashed(tree, kp)
		if !ok {
			continue
		}
		_, _ = takeKey(tree, kp)
		warnings, errs = k.judge(p, originOf(origins, p), v, warnings, errs)
	}
	return warnings, errs
}

// judge appends to warnings or errs what value v of the key at path p
// (from origin) calls for: nothing when accept takes it.
func (k pollerKey) judge(p, origin string, v any, warnings, errs []*stream.ConfigError) ([]*stream.ConfigError, []*stream.ConfigError) {
	switch {
	case k.accept != nil && k.accept(v):
	case k.warn != "":
		warnings = append(warnings, &stream.ConfigError{Path: p, Origin: origin, Msg: "ignored: " + k.warn})
	default:
		errs = append(errs, &stream.ConfigError{Path: p, Origin: origin, Msg: k.why})
	}
	return warnings, errs
}

var scstOnlyBindingKeys = []scstBindingKey{
	{kind: "consumer", key: "multiplex", accept: func(v any) bool { _, err := toBool(v); return err == nil },
		warn: "multiplex only changes how SCSt shares listener containers among the destinations of the list; the binding consumes each of them either way"},
	{kind: "consumer", key: "instanceindexlist",
		why: "not supported: an instance consumes the partitions its consumer.instance-index and instance-count select (those whose number modulo instance-count is its index); run one instance per index"},
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
	// kind "": a key of the binding itself.
	{key: "errorhandlerdefinition",
		why: springBean + "register the binding's error handler in code: stream.WithErrorHandler(binding, handler), called for each message that failed every attempt"},
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
		poller := append(append([]string(nil), sec...), "producer", "poller")
		if _, _, ok := lookupSquashed(tree, poller); ok {
			w, e := pollerOnlyKeys(tree, poller, origins)
			warnings, errs = append(warnings, w...), append(errs, e...)
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

// moveOrigins moves the origins of key path from (and below) to to.
func moveOrigins(origins map[string]string, from, to string) {
	from, to = strings.ToLower(from), strings.ToLower(to)
	for k, o := range origins {
		if k == from || strings.HasPrefix(k, from+".") || strings.HasPrefix(k, from+"[") {
			origins[to+k[len(from):]] = o
			delete(origins, k)
		}
	}
}

func squashAll(path []string) []string {
	out := make([]string, len(path))
	for i, p := range path {
		out[i] = squash(p)
	}
	return out
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

// integrationPoller reads Spring Integration's default poller,
// spring.integration.poller.*, which SCSt 3.2 and later read for polled
// suppliers instead of spring.cloud.stream.poller.* (their
// PollerConfigEnvironmentPostProcessor copies the latter into the former
// where it is not set, so the former wins). fixed-delay (or fixed-rate,
// read as it) becomes the default of producer.poller.fixed-delay, unless
// stream.default.producer.poller.fixed-delay is set (a binding's poller
// wins in SCSt too); the other keys are checked as pollerKeys. The tree
// keeps spring.integration as written (Loaded.Raw).
func integrationPoller(raw map[string]any, origins map[string]string) (warnings, errs []*stream.ConfigError) {
	spring, _ := raw["spring"].(map[string]any)
	ik, ok := mapKey(spring, "integration")
	if !ok {
		return nil, nil
	}
	integ, _ := spring[ik].(map[string]any)
	pk, ok := mapKey(integ, "poller")
	if !ok {
		return nil, nil
	}
	base := "spring." + ik + "." + pk
	poller, isMap := integ[pk].(map[string]any)
	if !isMap {
		return nil, []*stream.ConfigError{{Path: base, Origin: originOf(origins, base), Msg: "expected a map of poller settings (fixed-delay, ...)"}}
	}
	at := func(p string) string { return originOf(origins, p) }
	var delayKey, rateKey string
	for _, k := range sortedKeys(poller) {
		p := base + "." + k
		switch sq := squash(k); sq {
		case "fixeddelay":
			delayKey = k
		case "fixedrate":
			rateKey = k
		default:
			for _, pk := range pollerKeys {
				if pk.key == sq {
					warnings, errs = pk.judge(p, at(p), poller[k], warnings, errs)
				}
			}
		}
	}
	key := delayKey
	switch {
	case delayKey != "" && rateKey != "":
		p := base + "." + rateKey
		return warnings, append(errs, &stream.ConfigError{Path: p, Origin: at(p), Msg: "is set and so is " + base + "." + delayKey + ": set one of them (Spring Integration refuses both too)"})
	case rateKey != "":
		key = rateKey
		p := base + "." + rateKey
		warnings = append(warnings, &stream.ConfigError{Path: p, Origin: at(p),
			Msg: "read as fixed-delay: a polled supplier is called this long after its previous call returned (Spring Integration's fixed-rate counts from when it started)"})
	case delayKey == "":
		return warnings, errs
	}
	from := base + "." + key
	v := poller[key]
	if _, err := toDuration(v); err != nil {
		return warnings, append(errs, &stream.ConfigError{Path: from, Origin: at(from), Msg: err.Error()})
	}
	tree, _ := raw["stream"].(map[string]any)
	if tree == nil {
		tree = map[string]any{}
		raw["stream"] = tree
	}
	if p, _, set := lookupSquashed(tree, []string{"poller", "fixeddelay"}); set {
		_, _ = takeKey(tree, []string{"poller", "fixeddelay"})
		warnings = append(warnings, &stream.ConfigError{Path: p, Origin: at(p),
			Msg: "ignored: " + from + " is set, and SCSt reads that one (it copies spring.cloud.stream.poller into spring.integration.poller only where that is not set)"})
	}
	if _, _, set := lookupSquashed(tree, []string{"default", "producer", "poller", "fixeddelay"}); set {
		return warnings, errs // a binding property: it wins in SCSt too
	}
	ensureMapPath(tree, []string{"default", "producer", "poller"})["fixed-delay"] = v
	if o := at(from); o != "" {
		origins["stream.default.producer.poller.fixed-delay"] = o + " (" + from + ")"
	}
	return warnings, errs
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
