package management

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Spring Boot's health statuses that streambind reports.
const (
	StatusUp           = "UP"
	StatusDown         = "DOWN"
	StatusOutOfService = "OUT_OF_SERVICE"
)

// ActuatorHealth is the JSON body of Spring Boot Actuator's health paths
// (GET /actuator/health, /actuator/health/liveness, /actuator/health/readiness):
// {"status": "UP"} with the components that make it, as Spring Boot shows
// them with show-details: always. The answer is 200 for UP and 503 for
// DOWN and OUT_OF_SERVICE, as Spring Boot's default status mapping.
type ActuatorHealth struct {
	Status     string                     `json:"status"`
	Components map[string]HealthComponent `json:"components,omitempty"`
	// Groups names the health groups (GET /actuator/health only):
	// liveness and readiness.
	Groups []string `json:"groups,omitempty"`
}

// HealthComponent is one component of an [ActuatorHealth]: its status,
// details and, for a composite (binders), its own components.
type HealthComponent struct {
	Status     string                     `json:"status"`
	Details    map[string]string          `json:"details,omitempty"`
	Components map[string]HealthComponent `json:"components,omitempty"`
}

// healthGroups are the groups GET /actuator/health names, as Spring Boot's
// with its Kubernetes probes on.
var healthGroups = []string{"liveness", "readiness"}

// aggregate is Spring Boot's default status aggregation: DOWN before
// OUT_OF_SERVICE before UP.
func aggregate(comps map[string]HealthComponent) string {
	status := StatusUp
	for _, c := range comps {
		switch c.Status {
		case StatusDown:
			return StatusDown
		case StatusOutOfService:
			status = StatusOutOfService
		}
	}
	return status
}

// readinessComponents are the components of the readiness group, from what
// GET /health/readiness reports (errors already redacted):
//
//   - readinessState: UP while the app runs, else OUT_OF_SERVICE (Spring
//     Boot's REFUSING_TRAFFIC, while starting and once stopping), with the
//     app's state as detail;
//   - binders: SCSt's binders health contributor, one component per binder
//     (and health-checked component), DOWN with its error when it is not
//     connected; absent while there is none;
//   - bindings: DOWN, with the reason per binding, while a binding reports
//     its destination unusable; absent otherwise.
func readinessComponents(h Health) map[string]HealthComponent {
	comps := map[string]HealthComponent{}
	state := HealthComponent{Status: StatusUp, Details: map[string]string{"app": h.App}}
	if h.App != "running" {
		state.Status = StatusOutOfService
	}
	comps["readinessState"] = state
	if len(h.Binders) > 0 {
		binders := HealthComponent{Status: StatusUp, Components: map[string]HealthComponent{}}
		for name, b := range h.Binders {
			c := HealthComponent{Status: StatusUp, Details: map[string]string{"type": b.Type}}
			if !b.Up {
				c.Status = StatusDown
				binders.Status = StatusDown
				if b.Error != "" {
					c.Details["error"] = b.Error
				}
			}
			binders.Components[name] = c
		}
		comps["binders"] = binders
	}
	if len(h.Bindings) > 0 {
		comps["bindings"] = HealthComponent{Status: StatusDown, Details: h.Bindings}
	}
	return comps
}

// readinessStatus is the status of the readiness group made of comps:
// OUT_OF_SERVICE while the app is not running (its bindings are not bound
// yet, or no more: what they say follows from that), else Spring Boot's
// aggregate.
func readinessStatus(h Health, comps map[string]HealthComponent) string {
	if h.App != "running" {
		return StatusOutOfService
	}
	return aggregate(comps)
}

// healthComponents are every component of GET /actuator/health: Spring
// Boot's ping and livenessState (always UP while the server answers), and
// the readiness group's.
// The status is the readiness group's (livenessState and ping are UP).
func (s *Server) healthComponents(r *http.Request) (map[string]HealthComponent, string) {
	h := s.check(r.Context())
	comps := readinessComponents(h)
	status := readinessStatus(h, comps)
	comps["ping"] = HealthComponent{Status: StatusUp}
	comps["livenessState"] = HealthComponent{Status: StatusUp}
	return comps, status
}

// writeHealth answers h with Spring Boot's status mapping: 503 for DOWN and
// OUT_OF_SERVICE, 200 otherwise.
func writeHealth(w http.ResponseWriter, status string, v any) {
	code := http.StatusOK
	if status == StatusDown || status == StatusOutOfService {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, v)
}

func (s *Server) actuatorHealth(w http.ResponseWriter, r *http.Request) {
	comps, status := s.healthComponents(r)
	h := ActuatorHealth{Status: status, Components: comps, Groups: slices.Clone(healthGroups)}
	writeHealth(w, h.Status, h)
}

// actuatorLiveness is Spring Boot's liveness group: UP while the process
// serves (LivenessState CORRECT), whatever the binders say, so that a
// broker outage does not restart the pod.
func (s *Server) actuatorLiveness(w http.ResponseWriter, _ *http.Request) {
	comps := map[string]HealthComponent{"livenessState": {Status: StatusUp}}
	writeHealth(w, StatusUp, ActuatorHealth{Status: StatusUp, Components: comps})
}

// actuatorReadiness is Spring Boot's readiness group, holding what
// GET /health/readiness checks.
func (s *Server) actuatorReadiness(w http.ResponseWriter, r *http.Request) {
	rh := s.check(r.Context())
	comps := readinessComponents(rh)
	h := ActuatorHealth{Status: readinessStatus(rh, comps), Components: comps}
	writeHealth(w, h.Status, h)
}

// actuatorHealthPath is GET /actuator/health/{path...}, Spring Boot's
// health/{*path}: one component of GET /actuator/health (ping,
// livenessState, readinessState, binders, bindings), one component of a
// composite (binders/<name>: one binder), or a component within a group
// (readiness/binders, readiness/binders/<name>); 404 for one that is not
// there. The groups themselves have their own routes.
func (s *Server) actuatorHealthPath(w http.ResponseWriter, r *http.Request) {
	path := r.PathValue("path")
	segs := strings.Split(path, "/")
	comps, _ := s.healthComponents(r)
	if len(segs) > 1 {
		switch segs[0] {
		case "liveness":
			comps = map[string]HealthComponent{"livenessState": comps["livenessState"]}
			segs = segs[1:]
		case "readiness":
			delete(comps, "ping")
			delete(comps, "livenessState")
			segs = segs[1:]
		}
	}
	var c HealthComponent
	for _, seg := range segs {
		var ok bool
		if c, ok = comps[seg]; !ok {
			writeError(w, http.StatusNotFound, "no health component or group at "+strconv.Quote(path))
			return
		}
		comps = c.Components
	}
	writeHealth(w, c.Status, c)
}

// actuatorInfo is GET /actuator/info: an empty object, as Spring Boot's
// without info contributors (it shows nothing of the configuration).
func (s *Server) actuatorInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{})
}
