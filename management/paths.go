package management

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/streambind/streambind/internal/actuatorpath"
)

// route is one route of the server. An actuator endpoint's (id set) is
// written at Spring Boot's default path, /actuator/<id>[/...]; the
// discovery page's (id "", pattern "GET /actuator") at the default base
// path; streambind's own (id "", another path) is served where written.
type route struct {
	id      string
	pattern string
	h       http.Handler
}

// register adds routes to s.mux at their configured paths: the actuator
// endpoints that are exposed, moved to the base path and path mapping,
// then streambind's own routes unless an actuator route took their path
// (base-path: / puts Spring Boot's health at /health, and its groups at
// /health/liveness and /health/readiness, in Spring Boot's form). s.routes
// lists what is served, in the order of routes.
func (s *Server) register(routes []route) {
	st, bad := s.opts.Config.settingsChecked()
	for _, b := range bad {
		s.opts.Logger.Error("management: "+b+"; the default is served", "default", actuatorpath.DefaultBasePath+"/<id>")
	}
	conflicts := st.Conflicts()
	for id, err := range conflicts {
		// Set from Go code (ConfigFrom refuses it): not served rather
		// than a panic of the ServeMux.
		s.opts.Logger.Error("management: endpoint not served: "+err.Error(), "endpoint", id)
	}
	s.paths = st
	actual := make([]string, len(routes))
	taken := map[string]bool{}
	add := func(i int, pattern string) {
		key := wildcardRE.ReplaceAllString(pattern, "{}")
		if taken[key] {
			return
		}
		taken[key] = true
		s.mux.Handle(pattern, routes[i].h)
		actual[i] = pattern
	}
	own := []int{}
	for i, r := range routes {
		method, path, _ := strings.Cut(r.pattern, " ")
		switch {
		case r.id == "" && path == actuatorpath.DefaultBasePath:
			if st.Discovery {
				add(i, method+" "+muxPath(st.DiscoveryPath()))
			}
		case r.id == "" && s.opts.MainServer && !st.Exposed(ownEndpoint(path)):
			// On server.port, streambind's own paths follow the exposure
			// of the endpoint they serve (Config.MainServer).
		case r.id == "":
			own = append(own, i)
		case r.id == "config" && !s.opts.ConfigEndpoint, !st.Exposed(r.id), conflicts[r.id] != nil:
		default:
			rest := strings.TrimPrefix(path, actuatorpath.DefaultBasePath+"/"+r.id)
			add(i, method+" "+muxPath(joinPath(st.Path(r.id), rest)))
		}
	}
	for _, i := range own {
		if add(i, routes[i].pattern); actual[i] == "" {
			// With base-path / Boot's health groups take /health/liveness
			// and /health/readiness, answering as they do (documented);
			// any other of streambind's own paths taken (base-path /metrics
			// puts the links page on the Prometheus scrape) is a surprise.
			_, path, _ := strings.Cut(routes[i].pattern, " ")
			level := slog.LevelWarn
			if st.DiscoveryPath() == "/" && strings.HasPrefix(path, "/health/") {
				level = slog.LevelDebug
			}
			s.opts.Logger.Log(context.Background(), level, "management: "+routes[i].pattern+" is an actuator endpoint's path (management.endpoints.web.base-path, path-mapping): the actuator endpoint is served there, not streambind's own", "base-path", st.DiscoveryPath())
		}
	}
	for _, p := range actual {
		if p != "" {
			s.routes = append(s.routes, p)
		}
	}
}

// ownEndpoint is the actuator endpoint whose exposure serves one of
// streambind's own paths on the main server (Config.MainServer): the
// probes are health's, /metrics is prometheus's scrape.
func ownEndpoint(path string) string {
	if strings.HasPrefix(path, "/health/") {
		return "health"
	}
	return "prometheus"
}

// wildcardRE matches a ServeMux wildcard's name, so that two patterns that
// differ only by it are seen as the same route.
var wildcardRE = regexp.MustCompile(`\{[^}.]*`)

// joinPath is an endpoint's path p with a route's rest ("/liveness", or
// "" for the endpoint itself) added.
func joinPath(p, rest string) string {
	if p == "/" && rest != "" {
		return rest
	}
	return p + rest
}

// muxPath is a path as a ServeMux pattern: "/" matches the root only.
func muxPath(p string) string {
	if p == "/" {
		return "/{$}"
	}
	return p
}

// link is one link of the discovery page.
type link struct {
	Href      string `json:"href"`
	Templated bool   `json:"templated"`
}

// discovery is GET <base-path>, Spring Boot's links page: a link to
// itself and to every endpoint served (and, templated, to those with a
// variable part: health-path, bindings-name), on the host the request
// named, as Spring Boot builds them.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	origin := scheme + "://" + r.Host
	self := origin + strings.TrimSuffix(s.paths.DiscoveryPath(), "/")
	// The keys in Spring Boot's order: self, then the endpoints by id.
	links := orderedLinks{{"self", link{Href: self}}}
	for _, id := range actuatorpath.IDs {
		p := s.paths.Path(id)
		if !slices.Contains(s.routes, "GET "+muxPath(p)) {
			continue
		}
		links = append(links, namedLink{id, link{Href: origin + p}})
		switch id {
		case "bindings":
			links = append(links, namedLink{"bindings-name", link{Href: origin + joinPath(p, "/{name}"), Templated: true}})
		case "health":
			links = append(links, namedLink{"health-path", link{Href: origin + joinPath(p, "/{*path}"), Templated: true}})
		}
	}
	writeJSON(w, http.StatusOK, map[string]orderedLinks{"_links": links})
}

type namedLink struct {
	name string
	link link
}

// orderedLinks is a JSON object whose keys keep their order.
type orderedLinks []namedLink

func (ls orderedLinks) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(l.name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(l.link)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}
