package main

import (
	"strings"

	"github.com/streambind/streambind/idempotency"
	"github.com/streambind/streambind/outbox"
	"github.com/streambind/streambind/stream"
)

// pgSections replaces the outbox and idempotency sections of tree (the
// configuration as read) with every setting as the app uses it
// (outbox.FromConfig, idempotency.FromConfig), defaults included, and
// puts their origins into origins: as the stream section's bindings are
// shown. The outbox section is shown when the configuration sets some
// key of it; idempotency.postgres and .redis when it sets one of theirs
// or a binding uses that store. A section the packages refuse is left as
// configured (the problems are printed on stderr).
func (s *service) pgSections(tree map[string]any, origins map[string]string, bindings []*binding) {
	l := s.loaded
	origin := func(path string) string {
		if o := l.Problem(path, "").Origin; o != "" {
			return s.showOrigin(o)
		}
		return "default"
	}
	// set reports whether the configuration sets a key of section, in a
	// file or by a variable.
	set := func(section string, keys ...string) bool {
		if _, ok := lookupFold(tree, section); ok {
			return true
		}
		for _, k := range keys {
			if origin(section+"."+k) != "default" {
				return true
			}
		}
		return false
	}
	put := func(section string, vals map[string]any) {
		parent, name := tree, section
		if p, last, ok := strings.Cut(section, "."); ok {
			sub, _ := lookupFold(tree, p)
			m, _ := sub.(map[string]any)
			if m == nil {
				m = map[string]any{}
			}
			deleteFold(tree, p)
			tree[p] = m
			parent, name = m, last
		}
		deleteFold(parent, name)
		parent[name] = vals
		for k := range vals {
			origins[section+"."+k] = origin(section + "." + k)
		}
	}

	outboxKeys := []string{"table", "dsn", "poll-interval", "batch-size", "concurrency", "send-timeout", "relay"}
	if set(outbox.Section, outboxKeys...) {
		if c, err := outbox.FromConfig(l); err == nil {
			vals := map[string]any{
				"table": c.Table, "poll-interval": duration(c.PollInterval), "batch-size": c.BatchSize,
				"concurrency": c.Concurrency, "send-timeout": duration(c.SendTimeout), "relay": c.RelayEnabled(),
			}
			if c.DSN != "" {
				vals["dsn"] = c.DSN // a secret key: redacted with the tree
			}
			put(outbox.Section, vals)
		}
	}

	uses := map[string]bool{}
	for _, b := range bindings {
		if b.input {
			uses[b.consumer.Idempotency.Store] = true
		}
	}
	pg := set(idempotency.Section+".postgres", "dsn", "table", "purge-interval") || uses[stream.IdempotencyStorePostgres]
	rd := set(idempotency.Section+".redis", "url", "key-prefix", "lease") || uses[stream.IdempotencyStoreRedis]
	if !pg && !rd {
		return
	}
	c, err := idempotency.FromConfig(l)
	if err != nil {
		return
	}
	if pg {
		vals := map[string]any{"table": c.Postgres.Table, "purge-interval": duration(c.Postgres.PurgeInterval)}
		if c.Postgres.DSN != "" {
			vals["dsn"] = c.Postgres.DSN
		}
		put(idempotency.Section+".postgres", vals)
	}
	if rd {
		vals := map[string]any{"key-prefix": c.Redis.KeyPrefix, "lease": duration(c.Redis.Lease)}
		if c.Redis.URL != "" {
			vals["url"] = c.Redis.URL
		}
		put(idempotency.Section+".redis", vals)
	}
}

// lookupFold returns the value of key in m, its spelling ignored
// (Outbox, outbox).
func lookupFold(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// deleteFold deletes key from m in every spelling.
func deleteFold(m map[string]any, key string) {
	for k := range m {
		if strings.EqualFold(k, key) {
			delete(m, k)
		}
	}
}
