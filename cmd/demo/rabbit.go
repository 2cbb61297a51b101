package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"

	amqp "github.com/rabbitmq/amqp091-go"

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

// purgeRabbit empties queues (missing ones are fine) on the broker a
// RabbitMQ binder with settings bs connects to, trying its endpoints in the
// binder's order (rabbit.Endpoints: address entries with their own
// credentials, virtual host and scheme, uri, username, password,
// virtual-host, tls). It returns how many messages it removed and where
// (an AMQP URI without the password). Over TLS it verifies the broker with
// the system's root certificates and sends no client certificate, whatever
// the binder's tls section says.
func purgeRabbit(ctx context.Context, bs stream.BinderSettings, queues []string) (int, string, error) {
	eps, err := rabbit.Endpoints(bs)
	if err != nil {
		return 0, "", err
	}
	if len(eps) == 0 {
		return 0, "", errors.New("no broker address")
	}
	return purgeQueues(ctx, eps, queues)
}

// amqpURI returns the URI of ep. It holds the password: never show it,
// show rabbit.Redact of it.
func amqpURI(ep rabbit.Endpoint) string {
	u := url.URL{Scheme: "amqp", User: url.UserPassword(ep.Username, ep.Password), Host: ep.Address}
	if ep.TLS {
		u.Scheme = "amqps"
	}
	u.Path = "/" + ep.VirtualHost
	u.RawPath = "/" + url.PathEscape(ep.VirtualHost)
	return u.String()
}

// purgeQueues empties the queues that exist on the broker (missing ones
// are fine) and returns how many messages it removed and where. The
// endpoints are tried in turn until one connects.
func purgeQueues(ctx context.Context, eps []rabbit.Endpoint, queues []string) (int, string, error) {
	var conn *amqp.Connection
	var where string
	var errs []error
	for _, ep := range eps {
		if err := ctx.Err(); err != nil {
			return 0, "", err
		}
		uri := amqpURI(ep)
		cfg := amqp.Config{
			Properties: amqp.Table{"connection_name": "streambind-demo-purge"},
			Dial:       amqp.DefaultDial(rabbit.DefaultConnectionTimeout),
		}
		if ep.TLS {
			host, _, _ := net.SplitHostPort(ep.Address)
			cfg.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
		}
		c, err := amqp.DialConfig(uri, cfg)
		if err == nil {
			conn, where = c, rabbit.Redact(uri)
			break
		}
		// The client's message may quote the URI, password and all.
		errs = append(errs, fmt.Errorf("%s: %w", rabbit.Redact(uri), hideSecrets(err, uri, ep.Password)))
	}
	if conn == nil {
		return 0, "", errors.Join(errs...)
	}
	defer conn.Close()
	total := 0
	for _, q := range queues {
		// A missing queue closes the channel: one channel per queue.
		ch, err := conn.Channel()
		if err != nil {
			return total, where, fmt.Errorf("%s: open a channel: %w", where, err)
		}
		n, err := ch.QueuePurge(q, false)
		var ae *amqp.Error
		switch {
		case err == nil:
			total += n
			_ = ch.Close()
		case errors.As(err, &ae) && ae.Code == amqp.NotFound:
		default:
			return total, where, fmt.Errorf("%s: purge %s: %w", where, q, err)
		}
	}
	return total, where, nil
}
