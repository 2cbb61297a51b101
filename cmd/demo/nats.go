package main

import (
	"context"

	"github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/stream"
)

// setupNATS registers the NATS JetStream binder (application-nats.yaml:
// NATS_URL, default nats://127.0.0.1:4222).
func setupNATS(_ context.Context, _, env []string) ([]stream.Option, []string, func(), error) {
	return []stream.Option{stream.WithBinderType(nats.Type, nats.New)}, env, nil, nil
}
