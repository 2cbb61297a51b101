package main

import (
	"context"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/stream"
)

// binderSetup prepares one binder type for the demo: the options that
// register it, the environment the configuration is loaded with (a setup may
// add variables, such as the address of an embedded broker it started), and
// a cleanup run after the app stopped.
type binderSetup func(ctx context.Context, profiles, env []string) (opts []stream.Option, newEnv []string, cleanup func(), err error)

// binderSetups lists the binder types the demo can run on; log records the
// settings of the binders the app creates (for --purge).
func binderSetups(log *binderLog) []binderSetup {
	return []binderSetup{
		setupMemory,
		registers(rabbit.Type, log.wrap(rabbit.New)),
		setupKafka,
		setupNATS(log),
		setupRedis(log),
	}
}

// registers is a setup that only registers factory f as binder type typ.
func registers(typ string, f stream.BinderFactory) binderSetup {
	return func(_ context.Context, _, env []string) ([]stream.Option, []string, func(), error) {
		return []stream.Option{stream.WithBinderType(typ, f)}, env, nil, nil
	}
}

func setupMemory(_ context.Context, _, env []string) ([]stream.Option, []string, func(), error) {
	return []stream.Option{stream.WithBinderType(memory.Type, memory.New)}, env, nil, nil
}
