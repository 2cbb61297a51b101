package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// rabbitDemoQueues are the durable queues application.yaml's bindings make
// on RabbitMQ. They outlive a run, so with the rabbit profile the demo
// purges them first: every run starts from empty queues and its order ids
// cannot meet those of an earlier, interrupted run.
var rabbitDemoQueues = []string{
	"orders.inventory", "orders.payment", "orders.shipping", "orders.payment.dlq",
	"payments.notifications",
}

// setupRabbit registers the RabbitMQ binder and, with the rabbit profile
// active, purges the demo's queues on the broker of RABBIT_ADDRESSES /
// RABBIT_USERNAME / RABBIT_PASSWORD / RABBIT_VHOST (the variables
// application-rabbit.yaml reads).
func setupRabbit(ctx context.Context, profiles, env []string) ([]stream.Option, []string, func(), error) {
	opts := []stream.Option{stream.WithBinderType(rabbit.Type, rabbit.New)}
	if !slices.Contains(profiles, "rabbit") {
		return opts, env, nil, nil
	}
	get := func(k, def string) string {
		for _, e := range env {
			if v, ok := strings.CutPrefix(e, k+"="); ok && v != "" {
				return v
			}
		}
		return def
	}
	u := url.URL{
		Scheme: "amqp",
		User:   url.UserPassword(get("RABBIT_USERNAME", "guest"), get("RABBIT_PASSWORD", "guest")),
		Host:   strings.TrimSpace(strings.Split(get("RABBIT_ADDRESSES", "127.0.0.1:5672"), ",")[0]),
		Path:   "/" + get("RABBIT_VHOST", "/"),
	}
	u.RawPath = "/" + url.PathEscape(get("RABBIT_VHOST", "/"))
	if err := purgeQueues(u.String(), rabbitDemoQueues); err != nil {
		return nil, nil, nil, fmt.Errorf("rabbit profile: purge the demo's queues at %s: %w", rabbit.Redact(u.String()), err)
	}
	return opts, env, nil, nil
}

// purgeQueues empties the queues that exist; missing ones are fine.
func purgeQueues(uri string, queues []string) error {
	conn, err := amqp.Dial(uri)
	if err != nil {
		return errors.New(strings.ReplaceAll(err.Error(), uri, rabbit.Redact(uri)))
	}
	defer conn.Close()
	for _, q := range queues {
		ch, err := conn.Channel()
		if err != nil {
			return err
		}
		_, err = ch.QueuePurge(q, false)
		var ae *amqp.Error
		if err != nil && !(errors.As(err, &ae) && ae.Code == amqp.NotFound) {
			return fmt.Errorf("purge %s: %w", q, err)
		}
		if err == nil {
			_ = ch.Close()
		}
	}
	return nil
}
