package config

import "strings"

// FrameworkKeys returns the key paths outside the stream section that
// streambind's own packages read, kebab-case and sorted: logging.* (read by
// package telemetry) and management.* (packages management and
// telemetry). An environment variable overrides one of them even when no
// file sets it (MANAGEMENT_SERVER_ADDRESS, LOGGING_LEVEL), and a variable
// under their roots that names no key is reported as misspelt (see [Load]).
//
// The list is kept here, not asked of those packages, because they are
// decoded from [Loaded.Raw] after loading (package config cannot import
// them); their tests check that it matches the keys they read. The
// returned slice is a copy.
func FrameworkKeys() []string {
	return []string{
		"logging.format",
		"logging.level",
		"management.endpoint.config.enabled",
		"management.endpoint.config.show-values",
		"management.endpoint.configprops.show-values",
		"management.endpoint.env.show-values",
		"management.endpoints.config.enabled",
		"management.endpoints.config.show-values",
		"management.endpoints.web.base-path",
		"management.endpoints.web.discovery.enabled",
		"management.endpoints.web.exposure.exclude",
		"management.endpoints.web.exposure.include",
		"management.server.address",
		"management.server.idle-timeout",
		"management.server.main-server",
		"management.server.max-connections",
		"management.server.read-header-timeout",
		"management.server.read-timeout",
		"management.server.write-timeout",
		"management.tracing.endpoint",
		"management.tracing.exporter",
		"management.tracing.insecure",
		"management.tracing.sampling-probability",
		"management.tracing.service-name",
	}
}

// frameworkRoots are the roots of [FrameworkKeys]: streambind owns them, so
// a misspelt variable under them is reported rather than ignored.
func frameworkRoots() map[string]bool {
	roots := map[string]bool{}
	for _, k := range FrameworkKeys() {
		r, _, _ := strings.Cut(k, ".")
		roots[r] = true
	}
	return roots
}
