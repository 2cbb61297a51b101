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
// (profiles are those the configuration is loaded with: --profile, else
// STREAM_PROFILES_ACTIVE, else SPRING_PROFILES_ACTIVE) and KAFKA_BROKERS is
// unset or empty, it starts an embedded in-process Kafka cluster (kfake)
// and sets KAFKA_BROKERS to its address; cleanup stops the cluster.
func setupKafka(_ context.Context, profiles, env []string) ([]stream.Option, []string, func(), error) {
	opts := []stream.Option{stream.WithBinderType(kafka.Type, kafka.New)}
	brokers, _ := lookupEnv(env, "KAFKA_BROKERS")
	if !slices.Contains(profiles, "kafka") || strings.TrimSpace(brokers) != "" {
		return opts, env, nil, nil
	}
	c, err := kafkatest.New()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("embedded kafka: %w", err)
	}
	env = append(slices.Clone(env), "KAFKA_BROKERS="+c.Brokers())
	return opts, env, c.Close, nil
}
