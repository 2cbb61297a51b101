package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/streambind/streambind/stream"
)

// This file reads Spring Boot's connection namespaces, which a Spring
// Cloud Stream application sets once for its binder: spring.rabbitmq.*
// and spring.kafka.bootstrap-servers. They become connection defaults of
// the RabbitMQ and Kafka binders ([stream.Config.ConnectionDefaults]), in
// the binders' own keys; stream.<type>.binder and a binder's environment
// win over them. The keys of those namespaces that streambind does not
// read are warnings, not errors: such a file runs unchanged, and the
// warning says what is ignored.

// bootKey is one key of a Spring Boot namespace that streambind reads.
type bootKey struct {
	typ string // binder type
	to  string // the binder's key
}

// bootRabbit maps spring.rabbitmq.<key> (squashed) to the RabbitMQ
// binder's keys. host and port are combined into addresses.
var bootRabbit = map[string]bootKey{
	"addresses":          {"rabbit", "addresses"},
	"username":           {"rabbit", "username"},
	"password":           {"rabbit", "password"},
	"virtualhost":        {"rabbit", "virtual-host"},
	"connectiontimeout":  {"rabbit", "connection-timeout"},
	"requestedheartbeat": {"rabbit", "heartbeat"},
}

// bootEnvKeys are the Spring Boot connection keys that an environment
// variable sets even when no file mentions them (SPRING_RABBITMQ_HOST,
// SPRING_KAFKA_BOOTSTRAP_SERVERS), as Spring Boot reads them: a
// Kubernetes deployment often gives the connection in the environment
// alone. Only these keys, and the Kafka client property maps (see
// bootEnvVar): other variables under SPRING_ are not keys.
var bootEnvKeys = []string{
	"spring.kafka.bootstrap-servers",
	"spring.kafka.client-id",
	"spring.kafka.security.protocol",
	"spring.rabbitmq.addresses",
	"spring.rabbitmq.connection-timeout",
	"spring.rabbitmq.host",
	"spring.rabbitmq.password",
	"spring.rabbitmq.port",
	"spring.rabbitmq.requested-heartbeat",
	"spring.rabbitmq.ssl.enabled",
	"spring.rabbitmq.username",
	"spring.rabbitmq.virtual-host",
}

// bootConnections fills cfg.ConnectionDefaults from the spring.rabbitmq
// and spring.kafka sections of raw, and returns the warnings for the keys
// it ignores and the problems (values of the wrong shape).
func bootConnections(raw map[string]any, cfg *stream.Config, origins map[string]string, unresolved map[string]bool) (warnings, errs []*stream.ConfigError) {
	spring, _ := raw["spring"].(map[string]any)
	if spring == nil {
		return nil, nil
	}
	// A key whose placeholder failed was reported; its binder gets no
	// value (not the placeholder's text) to report a second time.
	failed := map[string]bool{}
	for p := range unresolved {
		failed[strings.ToLower(p)] = true
	}
	put := func(typ, key string, v any, from string) {
		if failed[strings.ToLower(from)] {
			return
		}
		if cfg.ConnectionDefaults == nil {
			cfg.ConnectionDefaults = map[string]map[string]any{}
		}
		if cfg.ConnectionDefaults[typ] == nil {
			cfg.ConnectionDefaults[typ] = map[string]any{}
		}
		cfg.ConnectionDefaults[typ][key] = v
		// A binder's message about the key points at the line that set it.
		if p := "stream." + typ + ".binder." + key; origins[p] == "" {
			if o := originOf(origins, from); o != "" {
				origins[p] = o + " (" + writtenOr(cfg, from, o) + ")"
			}
		}
	}
	if rabbit, ok := mapAt(spring, "rabbitmq"); ok {
		rc := rabbitConnection(rabbit, "spring.rabbitmq", origins)
		warnings, errs = append(warnings, rc.warnings...), append(errs, rc.errs...)
		for _, k := range sortedKeys(rc.keys) {
			put("rabbit", k, rc.keys[k], rc.from[k])
		}
	}

	if kafka, ok := mapAt(spring, "kafka"); ok {
		kc := kafkaConnection(kafka, "spring.kafka", origins)
		warnings, errs = append(warnings, kc.warnings...), append(errs, kc.errs...)
		for _, k := range sortedKeys(kc.keys) {
			put("kafka", k, kc.keys[k], kc.from[k])
		}
		for _, mk := range []string{"configuration", "consumer-properties", "producer-properties"} {
			m, ok := kc.maps[mk]
			if !ok {
				continue
			}
			for _, prop := range sortedKeys(m) {
				if failed[strings.ToLower(kc.mapFrom[mk+"\x00"+prop])] {
					delete(m, prop)
				}
			}
			if len(m) == 0 {
				continue
			}
			put("kafka", mk, m, "spring.kafka")
			for _, prop := range sortedKeys(m) {
				// A binder's message about the property points at the
				// line of the Spring Boot key it came from.
				from := kc.mapFrom[mk+"\x00"+prop]
				if o := originOf(origins, from); o != "" {
					origins[strings.ToLower("stream.kafka.binder."+mk+"."+prop)] = o + " (" + writtenOr(cfg, from, o) + ")"
				}
			}
		}
	}
	return warnings, errs
}

// seconds gives a bare number of v a unit of seconds: Spring Boot reads
// spring.rabbitmq.requested-heartbeat so, where a bare number means
// milliseconds to the binder.
func seconds(v any) any {
	switch x := v.(type) {
	case int, uint64:
		return fmt.Sprintf("%ds", x)
	case string:
		if x != "" && strings.Trim(x, "0123456789") == "" {
			return x + "s"
		}
	}
	return v
}

// rabbitConn is spring.rabbitmq translated into the RabbitMQ binder's keys.
type rabbitConn struct {
	keys           map[string]any    // binder key → value
	from           map[string]string // binder key → the key path it came from
	warnings, errs []*stream.ConfigError
}

// rabbitConnection translates a spring.rabbitmq map (at key path prefix)
// into the RabbitMQ binder's keys.
func rabbitConnection(rabbit map[string]any, prefix string, origins map[string]string) *rabbitConn {
	rc := &rabbitConn{keys: map[string]any{}, from: map[string]string{}}
	put := func(_ string, key string, v any, from string) {
		rc.keys[key], rc.from[key] = v, from
	}
	ignore := func(path, why string) {
		rc.warnings = append(rc.warnings, &stream.ConfigError{Path: path, Origin: originOf(origins, path), Msg: "ignored: " + why})
	}
	var errs []*stream.ConfigError
	var host, port any
	var hostPath, portPath string
	ssl := false
	for _, k := range sortedKeys(rabbit) {
		path := prefix + "." + k
		v := rabbit[k]
		switch sk := squash(k); {
		case bootRabbit[sk].to != "":
			if sk == "requestedheartbeat" {
				v = seconds(v)
			}
			if v != nil {
				put("rabbit", bootRabbit[sk].to, v, path)
			}
		case sk == "host":
			host, hostPath = v, path
		case sk == "port":
			port, portPath = v, path
		case sk == "ssl":
			m, isMap := v.(map[string]any)
			if !isMap {
				errs = append(errs, &stream.ConfigError{Path: path, Origin: originOf(origins, path), Msg: "expected a map (enabled: true)"})
				continue
			}
			for _, sk2 := range sortedKeys(m) {
				p2 := path + "." + sk2
				switch squash(sk2) {
				case "enabled":
				case "keystore", "keystoretype", "keystorepassword", "truststore", "truststoretype", "truststorepassword", "bundle":
					// Refused, not ignored: without them the binder would
					// trust the system's CAs instead of the trust store's,
					// and connect without the client certificate.
					errs = append(errs, &stream.ConfigError{Path: p2, Origin: originOf(origins, p2),
						Msg: "not supported: the RabbitMQ binder reads PEM files (Go's TLS), not key or trust stores; set stream.rabbit.binder.tls.ca-file (the trust store's CA certificates), cert-file and key-file (the key store's certificate and key)"})
					continue
				default:
					ignore(p2, "of spring.rabbitmq.ssl only enabled is read; set the TLS files under stream.rabbit.binder.tls (ca-file, cert-file, key-file, server-name)")
					continue
				}
				b, err := toBool(m[sk2])
				if err != nil {
					errs = append(errs, &stream.ConfigError{Path: p2, Origin: originOf(origins, p2), Msg: err.Error()})
					continue
				}
				ssl = b
				put("rabbit", "tls", b, p2)
			}
		default:
			for _, leaf := range leafPaths(v, path) {
				ignore(leaf, "streambind's RabbitMQ binder reads addresses, host, port, username, password, virtual-host, ssl.enabled, connection-timeout and requested-heartbeat of spring.rabbitmq (its other settings are under stream.rabbit.binder and stream.rabbit.bindings)")
			}
		}
	}
	if _, has := rabbit["addresses"]; (host != nil || port != nil) && !has {
		h, p := "localhost", "5672"
		if ssl {
			p = "5671"
		}
		from := hostPath
		if host != nil {
			s, err := toString(host)
			if err != nil {
				errs = append(errs, &stream.ConfigError{Path: hostPath, Origin: originOf(origins, hostPath), Msg: err.Error()})
			}
			h = s
		}
		if port != nil {
			s, err := toString(port)
			if err != nil {
				errs = append(errs, &stream.ConfigError{Path: portPath, Origin: originOf(origins, portPath), Msg: err.Error()})
			}
			p = s
			if from == "" {
				from = portPath
			}
		}
		put("rabbit", "addresses", h+":"+p, from)
	} else if (host != nil || port != nil) && has {
		for _, p := range []string{hostPath, portPath} {
			if p != "" {
				ignore(p, "spring.rabbitmq.addresses is set, and wins (as in Spring Boot)")
			}
		}
	}

	rc.errs = errs
	return rc
}

// mapAt returns the map under key k of m (compared squashed).
func mapAt(m map[string]any, k string) (map[string]any, bool) {
	key, ok := mapKey(m, k)
	if !ok {
		return nil, false
	}
	sub, ok := m[key].(map[string]any)
	return sub, ok
}

// leafPaths returns the key paths of the values below v (at path), sorted;
// v itself when it is not a map.
func leafPaths(v any, path string) []string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return []string{path}
	}
	var out []string
	for k, c := range m {
		out = append(out, leafPaths(c, path+"."+k)...)
	}
	sort.Strings(out)
	return out
}

// rabbitEnvironments rewrites the environment of every binder declared
// with type rabbit that is written in SCSt's form: spring.rabbitmq.*
// (nested or dotted) becomes the binder's own keys as at the top level,
// and spring.cloud.stream.rabbit.binder.* its keys as they are. A key set
// both ways is an error; any other spring.* key too. (The Kafka binder
// reads its environment's spring.* keys itself.)
func rabbitEnvironments(tree map[string]any, origins map[string]string) (warnings, errs []*stream.ConfigError) {
	for _, be := range binderEnvironments(tree, "rabbit") {
		env, base := be.env, be.base
		nested := map[string]any{}
		for _, k := range sortedKeys(env) {
			if lk := strings.ToLower(k); lk == "spring" || strings.HasPrefix(lk, "spring.") {
				nestPut(nested, strings.Split(k, "."), env[k])
				delete(env, k)
			}
		}
		spring, _ := nested["spring"].(map[string]any)
		if len(spring) == 0 {
			continue
		}
		set := func(k string, v any, from string) {
			if nk, clash := mapKey(env, k); clash {
				errs = append(errs, &stream.ConfigError{Path: from, Origin: originOf(origins, from),
					Msg: fmt.Sprintf("sets the binder's %s, which %s.%s sets too: use one of them", k, base, nk)})
				return
			}
			env[k] = v
			if o := originOf(origins, from); o != "" {
				origins[strings.ToLower(base+"."+k)] = o
			}
		}
		if rabbit, ok := mapAt(spring, "rabbitmq"); ok {
			rc := rabbitConnection(rabbit, base+".spring.rabbitmq", origins)
			warnings, errs = append(warnings, rc.warnings...), append(errs, rc.errs...)
			for _, k := range sortedKeys(rc.keys) {
				set(k, rc.keys[k], rc.from[k])
			}
			delete(spring, "rabbitmq")
		}
		if cloud, ok := mapAt(spring, "cloud"); ok {
			if st, ok := mapAt(cloud, "stream"); ok {
				if r, ok := mapAt(st, "rabbit"); ok {
					if bm, ok := mapAt(r, "binder"); ok {
						for _, k := range sortedKeys(bm) {
							set(k, bm[k], base+".spring.cloud.stream.rabbit.binder."+k)
						}
						delete(r, "binder")
					}
				}
			}
		}
		for _, leaf := range leafPaths(pruneEmpty(spring), base+".spring") {
			if leaf == base+".spring" {
				continue
			}
			errs = append(errs, &stream.ConfigError{Path: leaf, Origin: originOf(origins, leaf),
				Msg: "unknown key of a binder environment in SCSt's form: the RabbitMQ binder reads spring.rabbitmq.* and spring.cloud.stream.rabbit.binder.* there"})
		}
	}
	return warnings, errs
}

// binderEnvironment is the environment map of a declared binder and the
// key path it has in the tree.
type binderEnvironment struct {
	base string // stream.binders.<name>.environment (as spelt)
	env  map[string]any
}

// binderEnvironments returns the environment maps of the binders declared
// with type typ (case-insensitive), in the order of their names.
func binderEnvironments(tree map[string]any, typ string) []binderEnvironment {
	var out []binderEnvironment
	binders, _ := tree["binders"].(map[string]any)
	for _, name := range sortedKeys(binders) {
		b, _ := binders[name].(map[string]any)
		t, _ := b["type"].(string)
		envKey, ok := mapKey(b, "environment")
		env, isMap := b[envKey].(map[string]any)
		if !strings.EqualFold(strings.TrimSpace(t), typ) || !ok || !isMap {
			continue
		}
		out = append(out, binderEnvironment{base: "stream.binders." + name + "." + envKey, env: env})
	}
	return out
}

// nestPut sets v at path below m, creating maps; a map value is merged,
// its dotted keys split too, so that every spelling of a key ends in one
// place.
func nestPut(m map[string]any, path []string, v any) {
	for _, seg := range path[:len(path)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[seg] = next
		}
		m = next
	}
	last := path[len(path)-1]
	if vm, ok := v.(map[string]any); ok {
		sub, ok := m[last].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[last] = sub
		}
		for k, x := range vm {
			nestPut(sub, strings.Split(k, "."), x)
		}
		return
	}
	m[last] = v
}

// pruneEmpty drops the empty maps below m (in place) and returns m.
func pruneEmpty(m map[string]any) map[string]any {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			if len(pruneEmpty(sub)) == 0 {
				delete(m, k)
			}
		}
	}
	return m
}

// writtenOr is the key from, set at origin, as the file wrote it
// (spring.rabbitmq.virtualHost), else from.
func writtenOr(cfg *stream.Config, from, origin string) string {
	if w := cfg.WrittenKey(from, origin); w != "" {
		return w
	}
	return from
}
