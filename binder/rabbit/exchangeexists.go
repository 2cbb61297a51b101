package rabbit

import (
	"context"
	"errors"
	"fmt"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ExchangeExists reports whether the exchange name exists in the binder's
// virtual host, by a passive declaration (which creates nothing), on the
// publishing connection. The default exchange ("") always exists.
// streambind dlq replay checks its target with it: a replay creates no
// exchange.
func (b *Binder) ExchangeExists(ctx context.Context, name string) (bool, error) {
	if name == "" {
		return true, nil
	}
	if err := b.checkOpen(); err != nil {
		return false, fmt.Errorf("rabbit: look for exchange %q: %w", name, err)
	}
	var exists bool
	err := untilAnswered(ctx, "look for exchange "+name, func() (err error) {
		exists, err = b.pubMgr.passiveExists(ctx, passiveExchange, name, true)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("rabbit: look for exchange %q: %w", name, err)
	}
	return exists, nil
}

// QueueExists reports whether a queue of that name exists in the virtual
// host, by a passive declaration on a channel of its own (a not-found
// closes that channel, not the connection's others). It creates nothing.
func (b *Binder) QueueExists(ctx context.Context, name string) (bool, error) {
	if name == "" {
		return false, nil
	}
	if err := b.checkOpen(); err != nil {
		return false, fmt.Errorf("rabbit: look for queue %q: %w", name, err)
	}
	var exists bool
	err := untilAnswered(ctx, "look for queue "+name, func() (err error) {
		exists, err = b.pubMgr.passiveExists(ctx, passiveQueue, name, true)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("rabbit: look for queue %q: %w", name, err)
	}
	return exists, nil
}

// passiveKind is what passiveExists looks for.
type passiveKind int

const (
	passiveExchange passiveKind = iota
	passiveQueue
)

// passiveExists reports whether the exchange or queue (kind) name exists
// in m's virtual host, by a passive declaration, which creates nothing,
// on a channel of its own, closed after it: the broker answers a missing
// one with 404 NOT_FOUND, which closes that channel only. The channel is
// a bind's (bindChannel: one attempt to connect) when forBind, else
// m.channel's (waiting, bounded by ctx, for the connection). An error is
// a failure to look (no channel, another closure), not an answer. An
// exchange's type and flags are not compared by a passive declaration.
func (m *connMgr) passiveExists(ctx context.Context, kind passiveKind, name string, forBind bool) (bool, error) {
	var (
		ch  *amqp.Channel
		err error
	)
	if forBind {
		ch, err = m.bindChannel(ctx)
	} else {
		ch, _, err = m.channel(ctx)
	}
	if err != nil {
		return false, err
	}
	defer ch.Close()
	if kind == passiveQueue {
		_, err = ch.QueueDeclarePassive(name, true, false, false, false, nil)
	} else {
		err = ch.ExchangeDeclarePassive(name, amqp.ExchangeDirect, true, false, false, false, nil)
	}
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.NotFound {
		return false, nil
	}
	return err == nil, err
}
