package redis_test

import (
	"testing"

	"github.com/streambind/streambind/binder/bindertest"
	"github.com/streambind/streambind/stream"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bindertest.Run(t, bindertest.Harness{
		NewBinder: func(t *testing.T) stream.Binder {
			return e.binder(t, nil)
		},
		Persistent: true,
		Duplicates: true,
	})
}
