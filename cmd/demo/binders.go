package main

import (
	"context"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// binderSetup prepares one binder type for the demo: the options that
// register it, the environment the configuration is loaded with (a setup may
// add variables, such as the address of an embedded broker it started), and
// a cleanup run after the app stopped.
type binderSetup func(ctx context.Context, profiles, env []string) (opts []stream.Option, newEnv []string, cleanup func(), err error)

// binderSetups lists the binder types the demo can run on; r records the
// RabbitMQ binders the app creates (for --purge).
func binderSetups(r *rabbitSetup) []binderSetup {
	return []binderSetup{setupMemory, r.setup, setupKafka, setupNATS, setupRedis}
}

func setupMemory(_ context.Context, _, env []string) ([]stream.Option, []string, func(), error) {
	return []stream.Option{stream.WithBinderType(memory.Type, memory.New)}, env, nil, nil
}
