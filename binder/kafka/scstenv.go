package kafka

import (
	"errors"
	"strings"

	"github.com/streambind/streambind/binder/props"
)

// SCSt's multi-binder configuration gives a binder's settings as Spring
// properties inside stream.binders.<name>.environment:
//
//	environment:
//	  spring.cloud.stream.kafka.binder.brokers: host:9092
//	  spring:
//	    kafka:
//	      bootstrap-servers: host:9092
//	      properties: { security.protocol: SASL_SSL }
//
// splitSpringEnvironment and bootKafkaKey read those forms, so that such a
// configuration runs unchanged.

// splitSpringEnvironment splits a binder environment into the binder's
// own keys (native), SCSt's spring.cloud.stream.kafka.binder.* keys (scst)
// and Spring Boot's spring.kafka.* keys (boot), and returns every other
// spring.* key path, which the Kafka binder does not read (unknown). The
// spring.* entries may be nested maps, dotted keys or a mix of both.
func splitSpringEnvironment(env map[string]any) (native, scst, boot map[string]any, unknown []string) {
	tree := map[string]any{}
	for k, v := range env {
		lk := strings.ToLower(k)
		if lk != "spring" && !strings.HasPrefix(lk, "spring.") {
			if native == nil {
				native = map[string]any{}
			}
			native[k] = v
			continue
		}
		put(tree, strings.Split(k, "."), v)
	}
	spring, _ := tree["spring"].(map[string]any)
	boot = take(spring, "kafka")
	if cloud := take(spring, "cloud"); cloud != nil {
		if st := take(cloud, "stream"); st != nil {
			if k := take(st, "kafka"); k != nil {
				scst = take(k, "binder")
				leftovers(k, "spring.cloud.stream.kafka", &unknown)
			}
			leftovers(st, "spring.cloud.stream", &unknown)
		}
		leftovers(cloud, "spring.cloud", &unknown)
	}
	leftovers(spring, "spring", &unknown)
	return native, scst, boot, unknown
}

// put sets the value at path in tree, creating maps on the way; map values
// are nested too (their dotted keys split), so that every form of the
// same key ends in one place.
func put(tree map[string]any, path []string, v any) {
	for _, seg := range path[:len(path)-1] {
		next, ok := tree[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			tree[seg] = next
		}
		tree = next
	}
	last := path[len(path)-1]
	if m, ok := v.(map[string]any); ok {
		sub, ok := tree[last].(map[string]any)
		if !ok {
			sub = map[string]any{}
			tree[last] = sub
		}
		for k, x := range m {
			put(sub, strings.Split(k, "."), x)
		}
		return
	}
	tree[last] = v
}

// take removes the map at key from m and returns it (nil if none).
func take(m map[string]any, key string) map[string]any {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			if sub, ok := v.(map[string]any); ok {
				delete(m, k)
				return sub
			}
		}
	}
	return nil
}

// leftovers appends the key paths of the leaves left in m, under path.
func leftovers(m map[string]any, path string, out *[]string) {
	for _, k := range props.SortedKeys(m) {
		if sub, ok := m[k].(map[string]any); ok && len(sub) > 0 {
			leftovers(sub, path+"."+k, out)
			continue
		}
		*out = append(*out, path+"."+k)
	}
}

// bootRefusal is why a spring.kafka key other than those bootKafkaKey maps
// is refused; confKey is the binder's configuration map (settings.confKey:
// such a key is in a binder's environment, which stream.kafka.binder does
// not reach with inherit-environment false).
func bootRefusal(confKey string) string {
	return "this Spring Boot property is not read by the Kafka binder: give it as a Kafka client property under spring.kafka.properties or " + confKey + " (see the Kafka client properties in docs/conventions.md)"
}

// bootKafkaKey decodes a key of Spring Boot's spring.kafka section: the
// keys that have a binder equivalent are handed to binderKey under it,
// security.protocol is a Kafka property; the rest is refused.
func bootKafkaKey(d *props.Decoder, k, p string, v any, binderKey func(k, p string, v any) error, common *clientProps, conn *connProps, confKey string) error {
	switch k {
	case "bootstrapservers":
		return binderKey("brokers", p, v)
	case "clientid":
		return binderKey("clientid", p, v)
	case "properties":
		return binderKey("configuration", p, v)
	case "consumer", "producer", "security":
		m, err := props.Map(v)
		if err != nil {
			return err
		}
		d.Each(p, m, func(k2, p2 string, v2 any) error {
			switch {
			case k2 == "properties" && k == "consumer":
				return binderKey("consumerproperties", p2, v2)
			case k2 == "properties" && k == "producer":
				return binderKey("producerproperties", p2, v2)
			case k2 == "protocol" && k == "security":
				return decodeKafkaProp(p2, "security.protocol", v2, kindBinder, common, conn, "")
			}
			return refuseLeaves(d, p2, v2, bootRefusal(confKey))
		})
		return nil
	}
	return refuseLeaves(d, p, v, bootRefusal(confKey))
}

// refuseLeaves reports why at every leaf of v (a map, or a value) at p.
func refuseLeaves(d *props.Decoder, p string, v any, why string) error {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return errors.New(why)
	}
	var paths []string
	leftovers(m, p, &paths)
	for _, l := range paths {
		d.Addf(l, "%s", why)
	}
	return nil
}
