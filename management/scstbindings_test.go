package management_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/streambind/streambind/stream"
)

// scstFields are the fields of Spring Cloud Stream's binding JSON
// (DefaultBinding as BindingsLifecycleController serializes it), in its
// @JsonPropertyOrder first.
var scstFields = []string{"bindingName", "name", "group", "pausable", "state", "paused", "input", "binderName", "binderType"}

// bindingsJSON GETs url and decodes its list of bindings, keeping each one's
// raw JSON.
func bindingsJSON(t *testing.T, url string) (int, []map[string]any, []json.RawMessage) {
	t.Helper()
	code, _, raw := do(t, http.MethodGet, url, "")
	var raws []json.RawMessage
	if err := json.Unmarshal(raw, &raws); err != nil {
		t.Fatalf("GET %s: %d %s: not a JSON list: %v", url, code, raw, err)
	}
	out := make([]map[string]any, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return code, out, raws
}

// checkSCSt checks one binding's JSON against SCSt's: the fields and their
// values (want), SCSt's fields in its order first, and the exact field set
// (SCSt's, then streambind's extras).
func checkSCSt(t *testing.T, got map[string]any, raw json.RawMessage, want map[string]any, extras []string) {
	t.Helper()
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s: %q = %#v, want %#v", want["bindingName"], k, got[k], v)
		}
	}
	fields := slices.Sorted(maps.Keys(got))
	wantFields := slices.Sorted(slices.Values(append(slices.Clone(scstFields), extras...)))
	if !slices.Equal(fields, wantFields) {
		t.Errorf("%s: fields %v, want %v", want["bindingName"], fields, wantFields)
	}
	last := -1
	for _, f := range scstFields[:5] {
		i := strings.Index(string(raw), `"`+f+`":`)
		if i < last {
			t.Errorf("%s: %q out of SCSt's order (bindingName, name, group, pausable, state): %s", want["bindingName"], f, raw)
		}
		last = i
	}
}

// /actuator/bindings is SCSt's: bindingName the binding, name its
// destination, group (null for an output), pausable, state in lower case
// (running, stopped, paused), paused, input, binderName, binderType; a GET
// of one binding is a list (SCSt's queryState), [] for no binding; a POST
// is SCSt's void write operation, 204 No Content. It was streambind's own:
// name the binding, state STARTED, binder, an object for one binding and a
// 200 with the binding for a POST.
func TestBindingsJSONIsSCSt(t *testing.T) {
	f := newFixture(t)
	f.run(t)
	inExtras := []string{"destination", "counters", "handlerDuration", "inFlight", "oldestInFlightSeconds"}
	outExtras := []string{"destination", "counters"}
	sink := map[string]any{"bindingName": "sink-in-0", "name": "work", "group": "g", "pausable": true, "state": "running",
		"paused": false, "input": true, "binderName": "memory", "binderType": "memory", "destination": "work"}
	src := map[string]any{"bindingName": "src", "name": "work", "group": nil, "pausable": true, "state": "running",
		"paused": false, "input": false, "binderName": "memory", "binderType": "memory", "destination": "work"}

	code, list, raws := bindingsJSON(t, f.base+"/actuator/bindings")
	if code != http.StatusOK || len(list) != 2 {
		t.Fatalf("GET /actuator/bindings: %d, %d bindings", code, len(list))
	}
	for i, b := range list {
		switch b["bindingName"] {
		case "sink-in-0":
			checkSCSt(t, b, raws[i], sink, inExtras)
		case "src":
			checkSCSt(t, b, raws[i], src, outExtras)
		default:
			t.Errorf("binding %v", b["bindingName"])
		}
	}

	code, one, raws := bindingsJSON(t, f.base+"/actuator/bindings/sink-in-0")
	if code != http.StatusOK || len(one) != 1 {
		t.Fatalf("GET /actuator/bindings/sink-in-0: %d, %d bindings, want a list of 1", code, len(one))
	}
	checkSCSt(t, one[0], raws[0], sink, inExtras)
	if code, none, _ := bindingsJSON(t, f.base+"/actuator/bindings/nope"); code != http.StatusOK || len(none) != 0 {
		t.Errorf("GET /actuator/bindings/nope: %d %v, want 200 []", code, none)
	}

	post := func(name, state string, wantState stream.State) {
		t.Helper()
		code, _, raw := do(t, http.MethodPost, f.base+"/actuator/bindings/"+name, `{"state":"`+state+`"}`)
		if code != http.StatusNoContent || len(raw) != 0 {
			t.Fatalf("POST %s to %s: %d %q, want 204 and no body", state, name, code, raw)
		}
		if b := f.app.Binding(name); b != nil && b.State() != wantState {
			t.Fatalf("POST %s to %s: binding %s", state, name, b.State())
		}
	}
	post("sink-in-0", "PAUSED", stream.StatePaused)
	_, one, raws = bindingsJSON(t, f.base+"/actuator/bindings/sink-in-0")
	sink["state"], sink["paused"] = "paused", true
	checkSCSt(t, one[0], raws[0], sink, inExtras)
	post("sink-in-0", "STOPPED", stream.StateStopped)
	_, one, raws = bindingsJSON(t, f.base+"/actuator/bindings/sink-in-0")
	sink["state"], sink["paused"] = "stopped", false
	checkSCSt(t, one[0], raws[0], sink, inExtras)
	post("sink-in-0", "STARTED", stream.StateStarted)
	post("src", "STOPPED", stream.StateStopped)
	_, one, raws = bindingsJSON(t, f.base+"/actuator/bindings/src")
	src["state"] = "stopped"
	checkSCSt(t, one[0], raws[0], src, outExtras)
	post("src", "STARTED", stream.StateStarted)
	// No binding of that name: SCSt changes the state of none, 204.
	post("nope", "STOPPED", "")
}
