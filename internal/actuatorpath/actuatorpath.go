// Package actuatorpath holds Spring Boot's rules for the paths of actuator
// endpoints (management.endpoints.web.base-path, path-mapping and
// exposure), shared by package config, which reports a bad value with its
// file and line, and package management, which serves the endpoints there.
package actuatorpath

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultBasePath is Spring Boot's management.endpoints.web.base-path.
const DefaultBasePath = "/actuator"

// IDs are the ids of the actuator endpoints streambind serves, sorted:
// Spring Boot's health, info and prometheus, Spring Cloud Stream's
// bindings, Spring Cloud Function's functions, and streambind's config and
// topology.
var IDs = []string{"bindings", "config", "functions", "health", "info", "prometheus", "topology"}

// ID is an endpoint id as Spring Boot compares them (EndpointId): lower
// case, letters and digits only ("Health", "health-", "HEALTH" are health).
func ID(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Known returns the id of streambind's endpoint that s names (compared as
// [ID] does), or false.
func Known(s string) (string, bool) {
	id := ID(s)
	if slices.Contains(IDs, id) {
		return id, true
	}
	return "", false
}

// BasePath checks and cleans a management.endpoints.web.base-path as
// Spring Boot does: it must be empty or start with '/'; a trailing '/' is
// dropped, so "/" (or "") is the root and is returned as "". The path's
// segments must be plain (see [Mapping]).
func BasePath(s string) (string, error) {
	if s != "" && !strings.HasPrefix(s, "/") {
		return "", fmt.Errorf("want a path that starts with '/' (or is empty, or /, for the root), got %s", strconv.Quote(s))
	}
	s = strings.TrimSuffix(s, "/")
	if err := segments(s); err != nil {
		return "", err
	}
	return s, nil
}

// Mapping checks and cleans a management.endpoints.web.path-mapping value
// as Spring Boot does: a leading '/' is added when missing and a trailing
// one dropped ("healthcheck" and "/healthcheck/" are "/healthcheck"). ""
// (or only white space) is no mapping: the endpoint keeps its id as path.
// "/" is the base path itself. The segments must be letters, digits and
// '-', '.', '_', '~' (not "." or ".."), so that a path is one Go
// http.ServeMux pattern and means the same in a URL.
func Mapping(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	if !strings.HasPrefix(s, "/") {
		s = "/" + s
	}
	if s == "/" {
		return "/", nil
	}
	s = strings.TrimSuffix(s, "/")
	if err := segments(s); err != nil {
		return "", err
	}
	return s, nil
}

// segments checks the segments of a cleaned path ("" or "/a/b").
func segments(s string) error {
	if s == "" {
		return nil
	}
	for _, seg := range strings.Split(s[1:], "/") {
		if seg == "" {
			return fmt.Errorf("empty path segment in %s", strconv.Quote(s))
		}
		if seg == "." || seg == ".." {
			return fmt.Errorf("path segment %s in %s: want a name", strconv.Quote(seg), strconv.Quote(s))
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
				return fmt.Errorf("%s in %s: want letters, digits, '-', '.', '_' and '~' in a path segment", strconv.QuoteRune(r), strconv.Quote(s))
			}
		}
	}
	return nil
}

// Settings are the cleaned web settings of the actuator endpoints.
type Settings struct {
	// Base is the cleaned base path: "" for the root.
	Base string
	// Mapping maps endpoint ids (as [ID] returns them) to their cleaned
	// paths ([Mapping]), "/" for the base path itself.
	Mapping map[string]string
	// Include and Exclude are the exposure's endpoint ids or "*".
	Include, Exclude []string
	// Discovery serves the links page at the base path.
	Discovery bool
}

// Path returns where endpoint id is served: the base path and its mapped
// path, or its id.
func (s Settings) Path(id string) string {
	switch m := s.Mapping[id]; m {
	case "":
		return s.Base + "/" + id
	case "/":
		if s.Base == "" {
			return "/"
		}
		return s.Base
	default:
		return s.Base + m
	}
}

// DiscoveryPath is where the links page is served: the base path, "/"
// for the root.
func (s Settings) DiscoveryPath() string {
	if s.Base == "" {
		return "/"
	}
	return s.Base
}

// Exposed reports whether endpoint id is served. An empty Include is
// streambind's default, every endpoint (Spring Boot's is health only: see
// package management's doc); Exclude wins over Include, as in Spring Boot.
func (s Settings) Exposed(id string) bool {
	match := func(list []string) bool {
		for _, x := range list {
			if strings.TrimSpace(x) == "*" || ID(x) == id {
				return true
			}
		}
		return false
	}
	if match(s.Exclude) {
		return false
	}
	return len(s.Include) == 0 || match(s.Include)
}

// fixedSubpaths are the literal paths endpoints serve below their own
// (health's groups): another endpoint mapped there would take them.
var fixedSubpaths = map[string][]string{"health": {"/liveness", "/readiness"}}

// Conflicts returns an error for each exposed endpoint (by id) whose path
// is already another's: an endpoint's, one of health's groups' or the
// discovery page's. Spring Boot refuses such a mapping as ambiguous (and a
// Go http.ServeMux would panic). The endpoints at their id's path are
// placed first, so that a mapped endpoint is the one blamed.
func (s Settings) Conflicts() map[string]error {
	owner := map[string]string{}
	if s.Discovery {
		owner[s.DiscoveryPath()] = "the discovery page"
	}
	ids := slices.Clone(IDs)
	slices.SortStableFunc(ids, func(a, b string) int {
		_, ma := s.Mapping[a]
		_, mb := s.Mapping[b]
		switch {
		case !ma && mb:
			return -1
		case ma && !mb:
			return 1
		}
		return 0
	})
	out := map[string]error{}
	for _, id := range ids {
		if !s.Exposed(id) {
			continue
		}
		p := s.Path(id)
		paths, whats := []string{p}, []string{id}
		for _, sub := range fixedSubpaths[id] {
			paths = append(paths, strings.TrimSuffix(p, "/")+sub)
			whats = append(whats, id+"'s group "+strings.TrimPrefix(sub, "/"))
		}
		for i, q := range paths {
			if o, taken := owner[q]; taken {
				if _, done := out[id]; !done {
					out[id] = fmt.Errorf("%s would be the path of both %s and %s: give each its own path", q, whats[i], o)
				}
				continue
			}
			owner[q] = whats[i]
		}
	}
	return out
}
