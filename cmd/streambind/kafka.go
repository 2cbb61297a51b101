package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kfake"
)

func newKafkaCmd(e *runEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kafka",
		Short: "Kafka tools for development",
		Long: `kafka holds Kafka tools for development; serve runs a local
Kafka-protocol broker, so that a service with binder kafka runs on a
laptop with no Kafka installed.`,
		Example: `  streambind kafka serve
  KAFKA_BROKERS=127.0.0.1:9092 go run ./cmd/demo --profile kafka --orders 0 --rate 50`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			_ = cmd.Help()
			return silent(exitUsage)
		},
	}
	cmd.AddCommand(newKafkaServeCmd(e))
	return cmd
}

func newKafkaServeCmd(e *runEnv) *cobra.Command {
	var port, partitions int
	var dataDir string
	var autoCreate, verbose bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a local Kafka-protocol broker for development",
		Long: `serve runs a Kafka-protocol broker in this process (franz-go's kfake, the
cluster streambind's tests use) on 127.0.0.1:PORT, so that a service with
binder kafka runs on a laptop with no Kafka installed and no code change:
point its brokers (KAFKA_BROKERS in the demo's application-kafka.yaml) at
the address printed.

It is a development tool: one broker, loopback only, no TLS or SASL. Topics
are created on first use (--auto-create-topics, like Kafka's default) with
--partitions partitions unless the client asks for a number (the Kafka
binder does: stream.kafka.binder.min-partition-count, default 1, or a
binding's partition-count; --partitions applies to topics that kcat or
another client creates by producing to them). Without
--data-dir everything is kept in memory and lost when it stops; with it,
topics, records and committed offsets are written to the directory and
loaded again by the next serve with the same directory.

It prints "listening on ADDR" on stdout once clients can connect, and runs
until SIGINT (Ctrl-C) or SIGTERM, then closes the connections, writes its
data and exits 0.`,
		Example: `  streambind kafka serve                     # 127.0.0.1:9092
  streambind kafka serve --port 19092 --data-dir .kafka --partitions 3
  KAFKA_BROKERS=127.0.0.1:9092 go run ./cmd/demo --profile kafka --orders 0 --rate 50`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port < 0 || port > 65535 {
				return usage("--port: want 0 (any free port) to 65535, got %d", port)
			}
			if partitions < 1 {
				return usage("--partitions: want at least 1, got %d", partitions)
			}
			opts := []kfake.Opt{kfake.Ports(port), kfake.DefaultNumPartitions(partitions), kfake.ClusterID("streambind")}
			if autoCreate {
				opts = append(opts, kfake.AllowAutoTopicCreation())
			}
			if dataDir != "" {
				opts = append(opts, kfake.DataDir(dataDir))
			}
			if verbose {
				opts = append(opts, kfake.WithLogger(kfake.BasicLogger(e.stderr, kfake.LogLevelInfo)))
			}
			c, err := kfake.NewCluster(opts...)
			if err != nil {
				return failed(fmt.Errorf("kafka serve: %w", err))
			}
			addr := strings.Join(c.ListenAddrs(), ",")
			fmt.Fprintf(cmd.OutOrStdout(), "listening on %s (export KAFKA_BROKERS=%s)\n", addr, addr)
			if e.ready != nil {
				e.ready <- addr
			}
			<-cmd.Context().Done()
			fmt.Fprintln(e.stderr, "kafka serve: stopping")
			c.Close()
			fmt.Fprintln(e.stderr, "kafka serve: stopped")
			return nil
		},
	}
	cmd.Flags().IntVar(&port, "port", 9092, "port on 127.0.0.1; 0 picks a free one")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "keep topics, records and offsets in this directory across runs (default: in memory)")
	cmd.Flags().IntVar(&partitions, "partitions", 1, "partitions of a topic created without a partition count")
	cmd.Flags().BoolVar(&autoCreate, "auto-create-topics", true, "create a topic when a client asks for one that does not exist")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log the broker's requests on stderr")
	return cmd
}
