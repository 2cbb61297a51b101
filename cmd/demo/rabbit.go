package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// rabbitDemoQueues are the durable queues application.yaml's bindings make
// on RabbitMQ. They outlive a run; --purge empties them before the app
// starts. Without --purge what an earlier run left in them is handled like
// any other message, and the tracker keeps it out of the summary's counts
// (it is not of this run: see tracker).
var rabbitDemoQueues = []string{
	"orders.inventory", "orders.payment", "orders.shipping", "orders.payment.dlq",
	"payments.notifications",
}

// rabbitSetup registers the RabbitMQ binder and remembers the settings of
// every RabbitMQ binder the app creates, so that --purge reaches the broker
// the app itself uses — its addresses, credentials and virtual host as the
// configuration says after profiles, environment overrides and
// placeholders — not a guess from environment variables.
type rabbitSetup struct {
	mu      sync.Mutex
	binders []stream.BinderSettings
}

func (r *rabbitSetup) setup(_ context.Context, _, env []string) ([]stream.Option, []string, func(), error) {
	return []stream.Option{stream.WithBinderType(rabbit.Type, r.factory)}, env, nil, nil
}

// factory is rabbit.New, recording the settings it is given.
func (r *rabbitSetup) factory(ctx context.Context, bs stream.BinderSettings) (stream.Binder, error) {
	r.mu.Lock()
	r.binders = append(r.binders, bs)
	r.mu.Unlock()
	return rabbit.New(ctx, bs)
}

// used returns the settings of the RabbitMQ binders created so far.
func (r *rabbitSetup) used() []stream.BinderSettings {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]stream.BinderSettings(nil), r.binders...)
}

// purge empties the demo's queues on the broker of every RabbitMQ binder
// the app created (call it after stream.NewApp, before App.Run). It reports
// what it did, one line per binder, on report.
func (r *rabbitSetup) purge(ctx context.Context, report func(format string, args ...any)) error {
	used := r.used()
	if len(used) == 0 {
		report("--purge: no RabbitMQ binder in use, nothing purged (it empties RabbitMQ queues only)")
		return nil
	}
	for _, bs := range used {
		target, err := purgeTargetOf(bs)
		if err != nil {
			return fmt.Errorf("--purge: rabbit binder %q: %w", bs.Name, err)
		}
		n, err := purgeQueues(ctx, target, rabbitDemoQueues)
		if err != nil {
			return fmt.Errorf("--purge: rabbit binder %q at %s: %w", bs.Name, target.redacted(), err)
		}
		report("purged %d messages from the demo's queues at %s", n, target.redacted())
	}
	return nil
}

// purgeTarget is where a RabbitMQ binder connects.
type purgeTarget struct {
	scheme             string   // amqp or amqps
	addresses          []string // host:port, tried in turn
	username, password string
	vhost              string
}

// uri returns the AMQP URI of address i. It holds the password: never
// show it, use redacted.
func (t purgeTarget) uri(i int) string {
	u := url.URL{Scheme: t.scheme, User: url.UserPassword(t.username, t.password), Host: t.addresses[i]}
	u.Path = "/" + t.vhost
	u.RawPath = "/" + url.PathEscape(t.vhost)
	return u.String()
}

// redacted names the target without its password.
func (t purgeTarget) redacted() string {
	return rabbit.Redact(t.uri(0))
}

// purgeTargetOf reads the connection settings of a RabbitMQ binder the way
// the binder does (stream.rabbit.binder, then stream.binders.<name>.
// environment, which wins; keys compared as package props normalises them;
// the binder's defaults). Settings that only tune the connection are
// ignored; TLS settings other than "enabled" are refused, as the purge
// connection could not honour them.
func purgeTargetOf(bs stream.BinderSettings) (purgeTarget, error) {
	t := purgeTarget{scheme: "amqp", addresses: []string{rabbit.DefaultAddress},
		username: rabbit.DefaultUsername, password: rabbit.DefaultPassword, vhost: rabbit.DefaultVirtualHost}
	var d props.Decoder
	for _, src := range props.BinderSources(bs, rabbit.Type) {
		d.Each(src.Path, src.Map, func(k, _ string, v any) (err error) {
			switch k {
			case "uri", "url":
				var s string
				if s, err = props.String(v); err != nil {
					return err
				}
				u, perr := amqp.ParseURI(s)
				if perr != nil {
					return errors.New("bad amqp uri (not shown: it may hold a password)")
				}
				if u.CACertFile != "" || u.CertFile != "" || u.KeyFile != "" || u.ServerName != "" {
					return errors.New("TLS files and server names are not supported by --purge: empty the queues another way")
				}
				t.scheme, t.username, t.password, t.vhost = u.Scheme, u.Username, u.Password, u.Vhost
				t.addresses = []string{net.JoinHostPort(u.Host, strconv.Itoa(u.Port))}
			case "addresses", "address", "host":
				var list []string
				if list, err = props.List(v); err != nil {
					return err
				}
				if len(list) == 0 {
					return errors.New("want at least one host:port")
				}
				for i, a := range list {
					if _, _, e := net.SplitHostPort(a); e != nil {
						list[i] = net.JoinHostPort(a, "5672")
					}
				}
				t.addresses = list
			case "username":
				t.username, err = props.String(v)
			case "password":
				t.password, err = props.String(v)
			case "virtualhost", "vhost":
				t.vhost, err = props.String(v)
			case "tls", "ssl":
				on, ok := tlsEnabledOnly(v)
				if !ok {
					return errors.New("TLS settings other than enabled are not supported by --purge: empty the queues another way")
				}
				if on {
					t.scheme = "amqps"
				}
			}
			return err
		})
	}
	return t, d.Err()
}

// tlsEnabledOnly reads a tls setting that is a bool or a map holding only
// "enabled" (a map without it means enabled, as for the binder).
func tlsEnabledOnly(v any) (on, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap {
		b, err := props.Bool(v)
		return b, err == nil
	}
	on = true
	for k, e := range m {
		if props.Norm(k) != "enabled" {
			return false, false
		}
		b, err := props.Bool(e)
		if err != nil {
			return false, false
		}
		on = b
	}
	return on, true
}

// purgeQueues empties the queues that exist on the target (missing ones
// are fine) and returns how many messages it removed. Addresses are tried
// in turn until one connects.
func purgeQueues(ctx context.Context, t purgeTarget, queues []string) (int, error) {
	var conn *amqp.Connection
	var errs []error
	for i := range t.addresses {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		uri := t.uri(i)
		c, err := amqp.DialConfig(uri, amqp.Config{
			Properties: amqp.Table{"connection_name": "streambind-demo-purge"},
			Dial:       amqp.DefaultDial(rabbit.DefaultConnectionTimeout),
		})
		if err == nil {
			conn = c
			break
		}
		// The client's message may quote the URI, password and all.
		errs = append(errs, errors.New(strings.ReplaceAll(err.Error(), uri, rabbit.Redact(uri))))
	}
	if conn == nil {
		return 0, errors.Join(errs...)
	}
	defer conn.Close()
	total := 0
	for _, q := range queues {
		// A missing queue closes the channel: one channel per queue.
		ch, err := conn.Channel()
		if err != nil {
			return total, fmt.Errorf("open a channel: %w", err)
		}
		n, err := ch.QueuePurge(q, false)
		var ae *amqp.Error
		switch {
		case err == nil:
			total += n
			_ = ch.Close()
		case errors.As(err, &ae) && ae.Code == amqp.NotFound:
		default:
			return total, fmt.Errorf("purge %s: %w", q, err)
		}
	}
	return total, nil
}
