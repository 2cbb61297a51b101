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
	exists := true
	err := untilAnswered(ctx, "look for exchange "+name, func() error {
		ch, err := b.pubMgr.bindChannel(ctx)
		if err != nil {
			return err
		}
		defer ch.Close()
		// The type and flags are not compared by a passive declaration.
		err = ch.ExchangeDeclarePassive(name, amqp.ExchangeDirect, true, false, false, false, nil)
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			exists = false
			return nil
		}
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
	exists := true
	err := untilAnswered(ctx, "look for queue "+name, func() error {
		ch, err := b.pubMgr.bindChannel(ctx)
		if err != nil {
			return err
		}
		defer ch.Close()
		_, err = ch.QueueDeclarePassive(name, true, false, false, false, nil)
		var ae *amqp.Error
		if errors.As(err, &ae) && ae.Code == amqp.NotFound {
			exists = false
			return nil
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("rabbit: look for queue %q: %w", name, err)
	}
	return exists, nil
}
