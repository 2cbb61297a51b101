package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// binderLog remembers the settings of every binder the app creates, so
// that --purge reaches the broker the app itself uses — its addresses,
// credentials and virtual host or key prefix as the configuration says
// after profiles, environment overrides and placeholders — not a guess
// from environment variables.
type binderLog struct {
	mu      sync.Mutex
	created map[string]stream.BinderSettings // by binder name
}

// wrap returns f, recording the settings it is given.
func (l *binderLog) wrap(f stream.BinderFactory) stream.BinderFactory {
	return func(ctx context.Context, bs stream.BinderSettings) (stream.Binder, error) {
		l.mu.Lock()
		if l.created == nil {
			l.created = map[string]stream.BinderSettings{}
		}
		l.created[bs.Name] = bs
		l.mu.Unlock()
		return f(ctx, bs)
	}
}

// settings returns the settings binder name was created with.
func (l *binderLog) settings(name string) (stream.BinderSettings, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	bs, ok := l.created[name]
	return bs, ok
}

// purgeBinders empties what the demo's bindings use on every binder of
// app (call it after stream.NewApp, before App.Run), one binder at a time
// in name order: RabbitMQ queues (rabbitDemoQueues), the streams of the
// bindings' destinations on NATS and Redis. It reports what it did, one
// line per binder, on report.
func purgeBinders(ctx context.Context, app *stream.App, log *binderLog, report func(format string, args ...any)) error {
	type binderUse struct {
		typ   string
		dests []string
	}
	uses := map[string]*binderUse{}
	for _, b := range app.Bindings() {
		u := uses[b.Binder()]
		if u == nil {
			u = &binderUse{typ: b.BinderType()}
			uses[b.Binder()] = u
		}
		for _, d := range strings.Split(b.Destination(), ",") {
			if d = strings.TrimSpace(d); d != "" && !slices.Contains(u.dests, d) {
				u.dests = append(u.dests, d)
			}
		}
	}
	names := make([]string, 0, len(uses))
	for n := range uses {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		u := uses[name]
		slices.Sort(u.dests)
		bs, ok := log.settings(name)
		switch {
		case u.typ == rabbit.Type && ok:
			n, where, err := purgeRabbit(ctx, bs, rabbitDemoQueues)
			if err != nil {
				return fmt.Errorf("--purge: rabbit binder %q: %w", name, err)
			}
			report("purged %d messages from the demo's queues at %s", n, where)
		case u.typ == nats.Type && ok:
			n, where, err := purgeNATS(ctx, bs, u.dests)
			if err != nil {
				return fmt.Errorf("--purge: nats binder %q: %w", name, err)
			}
			report("purged %d messages from the demo's streams at %s", n, where)
		case u.typ == redis.Type && ok:
			n, where, err := purgeRedis(ctx, bs, u.dests)
			if err != nil {
				return fmt.Errorf("--purge: redis binder %q: %w", name, err)
			}
			report("purged %d messages from the demo's streams at %s", n, where)
		default:
			report("--purge: %s binder %q: nothing purged (--purge empties RabbitMQ queues and NATS and Redis streams; the in-process binder and the embedded Kafka cluster start empty)", u.typ, name)
		}
	}
	return nil
}

// onlyTLSEnabled reads a tls setting that is a bool or a map holding only
// "enabled" (a map without it means enabled, as for the binders). Other
// TLS settings (CA or client certificate files, server names) are refused:
// --purge's own connection would not honour them.
func onlyTLSEnabled(v any) (on bool, err error) {
	m, isMap := v.(map[string]any)
	if !isMap {
		return props.Bool(v)
	}
	on = true
	for k, e := range m {
		if props.Norm(k) != "enabled" {
			return false, errors.New("TLS settings other than enabled are not supported by --purge: empty the demo's streams another way")
		}
		if on, err = props.Bool(e); err != nil {
			return false, err
		}
	}
	return on, nil
}

// hideSecrets returns err's text with secrets hidden as
// redact.StringWith hides them (a password shorter than 4 bytes only where
// it stands as one, so that it does not mangle the text), and what package
// redact recognises as one hidden too.
func hideSecrets(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return errors.New(redact.StringWith(err.Error(), secrets...))
}
