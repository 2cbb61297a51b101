package main

import (
	"slices"
	"strings"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// brokerOf is the identity of the broker that binder name (of type typ)
// of cfg connects to, for lint's joins of producers and consumers: the
// addresses its settings give it (with their defaults; the ones send, tail
// and dlq name in their errors), sorted, and on RabbitMQ each with its
// virtual host. Two binders of one type meet on a destination exactly when
// their identities are equal: two binder names with the same connection
// settings are one broker (SCSt's multi-binder samples declare a binder
// per cluster), two of one type with different addresses are two (a
// mirror that reads orders on clusterA and writes orders on clusterB
// does not loop). Across services the same rule holds: services whose
// files name one broker by different host names (localhost and kafka, in
// and out of a container) are taken for two. "" for the in-process binder,
// whose destinations are joined by service and binder (scopes).
func brokerOf(cfg *stream.Config, name, typ string) string {
	if typ == memory.Type || cfg == nil {
		return ""
	}
	settings := stream.BinderSettingsOf(cfg, name)
	if settings.Type == "" {
		settings.Type = typ
	}
	var addrs []string
	if typ == rabbit.Type {
		eps, err := rabbit.Endpoints(settings)
		if err != nil {
			return "" // the binder's validator reports it
		}
		for _, ep := range eps {
			addrs = append(addrs, strings.ToLower(ep.Address)+" vhost "+ep.VirtualHost)
		}
	} else {
		for _, a := range strings.Split(binderAddress(settings), ",") {
			if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
				addrs = append(addrs, a)
			}
		}
	}
	slices.Sort(addrs)
	return strings.Join(slices.Compact(addrs), ",")
}
