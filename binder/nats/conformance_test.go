package nats_test

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

func TestConformance(t *testing.T) {
	natstest.Require(t)
	s := newStreams(t, natstest.URL())
	bindertest.Run(t, bindertest.Harness{
		NewBinder: func(t *testing.T) stream.Binder {
			return tracked{newBinder(t, natstest.URL(), nil), s}
		},
		Persistent: true,
		Duplicates: true,
	})
}
