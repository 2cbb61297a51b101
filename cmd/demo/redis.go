package main

import (
	"context"

	"github.com/streambind/streambind/binder/redis"
	"github.com/streambind/streambind/stream"
)

// setupRedis registers the Redis Streams binder (application-redis.yaml:
// REDIS_URL, default redis://127.0.0.1:6379).
func setupRedis(_ context.Context, _, env []string) ([]stream.Option, []string, func(), error) {
	return []stream.Option{stream.WithBinderType(redis.Type, redis.New)}, env, nil, nil
}
