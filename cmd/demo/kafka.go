package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// setupKafka registers the Kafka binder. When the kafka profile is active
// and KAFKA_BROKERS is unset or empty, it starts an embedded in-process
// Kafka cluster (kfake) and sets KAFKA_BROKERS to its address; cleanup
// stops the cluster.
func setupKafka(_ context.Context, profiles, env []string) ([]stream.Option, []string, func(), error) {
	opts := []stream.Option{stream.WithBinderType(kafka.Type, kafka.New)}
	active := slices.Contains(profiles, "kafka")
	for _, p := range strings.Split(lookupEnv(env, "STREAM_PROFILES_ACTIVE"), ",") {
		active = active || strings.TrimSpace(p) == "kafka"
	}
	if !active || strings.TrimSpace(lookupEnv(env, "KAFKA_BROKERS")) != "" {
		return opts, env, nil, nil
	}
	c, err := kafkatest.New()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("embedded kafka: %w", err)
	}
	env = append(slices.Clone(env), "KAFKA_BROKERS="+c.Brokers())
	return opts, env, c.Close, nil
}

// lookupEnv returns the last value of key in env ("K=V" entries).
func lookupEnv(env []string, key string) string {
	v := ""
	for _, e := range env {
		if k, val, ok := strings.Cut(e, "="); ok && k == key {
			v = val
		}
	}
	return v
}
