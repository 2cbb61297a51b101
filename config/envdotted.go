package config

import (
	"sort"
	"strings"

	"github.com/streambind/streambind/stream"
)

// dottedEnvRoots are the roots a variable named as a key
// (spring.cloud.stream.bindings.x-in-0.group) is read for, besides the
// roots the files declare.
var dottedEnvRoots = map[string]bool{"spring": true, "stream": true, "management": true, "logging": true}

// dottedEnvLayers returns a layer for each environment variable whose name
// is a key as a file spells it (spring.cloud.stream.kafka.binder.brokers=
// kafka:9092, as docker-compose files and Kubernetes manifests often set
// them): Spring Boot reads such a variable as that key, so an SCSt
// service's deployment sets its configuration so. Only names under the
// roots streambind reads (spring, stream, management, logging) or a root
// the files declare are read; each is checked as a file's key (a misspelt
// one is an error at "env NAME"). They rank over the files and under the
// variables in upper case (SPRING_CLOUD_STREAM_..., STREAM_...), which
// Spring Boot's mapping consults first. spring.profiles.* and
// spring.config.* are read only in upper case (SPRING_PROFILES_ACTIVE,
// SPRING_CONFIG_LOCATION ...), before any file is: such a variable is a
// warning.
func dottedEnvLayers(env map[string]string, root *schema, fileRoots map[string]bool) (layers []*layer, errs, warns []*stream.ConfigError) {
	names := make([]string, 0)
	for name := range env {
		r, _, ok := strings.Cut(name, ".")
		if !ok || r == "" {
			continue
		}
		if lr := strings.ToLower(r); dottedEnvRoots[lr] || fileRoots[lr] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		origin := "env " + name
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "spring.profiles.") || strings.HasPrefix(lower, "spring.config.") {
			upper := strings.ToUpper(strings.NewReplacer(".", "_", "-", "").Replace(name))
			warns = append(warns, &stream.ConfigError{Path: lower, Origin: origin,
				Msg: "ignored: the profiles and the files to read are chosen before any key is read; set the variable " + upper})
			continue
		}
		b := newPropsBuilder(origin)
		if err := b.add(name, env[name], 1); err != nil {
			p := fileProblem(err)
			p.Origin = origin
			errs = append(errs, p)
			continue
		}
		doc, err := b.finish()
		if err != nil || doc == nil {
			if err != nil {
				p := fileProblem(err)
				p.Origin = origin
				errs = append(errs, p)
			}
			continue
		}
		l := newLayer(origin)
		l.origin = origin
		l.mapping(doc, root, nil)
		errs = append(errs, l.errs...)
		layers = append(layers, l)
	}
	return layers, errs, warns
}
