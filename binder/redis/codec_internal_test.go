package redis

import (
	"fmt"
	"reflect"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/streambind/streambind/stream"
)

// decode shares the payload and key with go-redis's strings (no copy);
// their capacity is their length, so that a handler's append copies
// instead of writing past them, and an empty payload is not nil.
func TestDecodeSharesPayloadReadOnly(t *testing.T) {
	env := decode(map[string]any{FieldPayload: "abc", FieldKey: "k1", "h:x": "y"})
	if string(env.Payload) != "abc" || cap(env.Payload) != len(env.Payload) {
		t.Fatalf("payload %q cap %d, want abc with cap 3", env.Payload, cap(env.Payload))
	}
	if string(env.Key) != "k1" || cap(env.Key) != len(env.Key) {
		t.Fatalf("key %q cap %d, want k1 with cap 2", env.Key, cap(env.Key))
	}
	if env.Headers["x"] != "y" || len(env.Headers) != 1 {
		t.Fatalf("headers %v", env.Headers)
	}
	grown := append(env.Payload, 'd')
	if string(env.Payload) != "abc" || string(grown) != "abcd" {
		t.Fatalf("append changed the payload: %q, %q", env.Payload, grown)
	}
	empty := decode(map[string]any{FieldPayload: ""})
	if empty.Payload == nil || len(empty.Payload) != 0 {
		t.Fatalf("empty payload %#v, want non-nil empty", empty.Payload)
	}
}

// TestQueueAcksDoesNotBoxIDs: queueAcks passes each id to go-redis as a
// *string into the entry, which go-redis writes as the string; an id as
// a string in the []any of XACK's arguments was an allocation per
// acknowledged message.
func TestQueueAcksDoesNotBoxIDs(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:0"}) // queued only: never dialled
	defer c.Close()
	es := make([]*entry, 100)
	for i := range es {
		es[i] = &entry{key: "s", id: fmt.Sprintf("1-%d", i)}
	}
	allocs := testing.AllocsPerRun(20, func() {
		pipe := c.Pipeline()
		queueAcks(pipe, "g", es)
	})
	if allocs > 20 {
		t.Errorf("queueAcks of %d entries: %v allocations; want a few per command, not one per entry", len(es), allocs)
	}
	pipe := c.Pipeline()
	cmds := queueAcks(pipe, "g", es)
	if len(cmds) != 1 {
		t.Fatalf("%d commands; want 1", len(cmds))
	}
	str := func(a any) string {
		if p, ok := a.(*string); ok {
			return *p
		}
		s, _ := a.(string)
		return s
	}
	args := cmds[0].Args()
	if len(args) != 3+len(es) || str(args[0]) != "XACK" || str(args[1]) != "s" || str(args[2]) != "g" || str(args[3]) != "1-0" || str(args[len(args)-1]) != "1-99" {
		t.Errorf("XACK arguments %v", args[:4])
	}
}

// TestDecodeRESPWithMapsMadeAhead: a message decoded with the headers maps
// intake makes while it waits for a reply (headerMaps) is the one
// decodeRESP gives; each message gets a map of its own, and one with more
// fields than a map's first slot group gets a new one.
func TestDecodeRESPWithMapsMadeAhead(t *testing.T) {
	var hs headerMaps
	hs.fill(2)
	if len(hs) != 2 || len(hs[0]) != 0 {
		t.Fatalf("made %d maps, the first with %d headers; want 2 empty", len(hs), len(hs[0]))
	}
	one := entryRESP("1-1", "payload", "p1", "h:id", "a", "h:contentType", "text/plain")
	two := entryRESP("1-2", "payload", "p2", "h:id", "b")
	var many []string
	for i := range 9 {
		many = append(many, fmt.Sprintf("h:x%d", i), "v")
	}
	nine := entryRESP("1-3", append(many, "payload", "p3")...)
	var got []stream.Envelope
	for _, resp := range []string{one, two, nine} {
		env := decodeRESPWith(resp, &hs)
		if want := decodeRESP(resp); !reflect.DeepEqual(env, want) {
			t.Fatalf("decoded %+v, want %+v", env, want)
		}
		got = append(got, env)
	}
	got[0].Headers["x"] = "y"
	if _, ok := got[1].Headers["x"]; ok || len(got[1].Headers) != 1 || len(got[2].Headers) != 9 {
		t.Fatalf("headers %v, %v: want maps of their own", got[1].Headers, got[2].Headers)
	}
	if len(hs) != 0 {
		t.Fatalf("%d maps left; want the two taken", len(hs))
	}
}
