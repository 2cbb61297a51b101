package kafka_test

// The retry copy's fit to its retry topic (5318e8a, found reviewing it):
// every failed message parked on a retry topic read the topic's
// max.message.bytes first, and where it cannot be read (no
// DescribeConfigs ACL, common for an application's principal) nothing is
// cached: each parked message cost DescribeConfigs and Metadata round
// trips and a WARN about a "dead-letter topic", though its copy was far
// under any limit.

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka"
	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestRetryCopyNotFittedWhenItFits: DescribeConfigs is refused (as to a
// principal without the ACL); ten small messages fail once each and are
// parked on the retry topic. All ten are retried, without a
// DescribeConfigs request or a WARN about max.message.bytes: a copy is
// fitted only when the retry topic refused it for its size (see
// TestBreakRetryCopyFitsRetryTopic).
func TestRetryCopyNotFittedWhenItFits(t *testing.T) {
	t.Parallel()
	const delay = 100 * time.Millisecond
	c := kafkatest.Start(t)
	topic := uniqueTopic(t)
	createTopic(t, c, topic, 1, nil)
	createTopic(t, c, kafka.RetryTopicName(topic, "g", delay), 1, nil)
	createTopic(t, c, stream.DLQName(topic, "g"), 1, nil)
	var describes atomic.Int64
	kf := c.Kfake
	kf.ControlKey(int16(kmsg.DescribeConfigs), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		kf.KeepControl()
		describes.Add(1)
		req := kr.(*kmsg.DescribeConfigsRequest)
		resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
		for _, r := range req.Resources {
			rr := kmsg.NewDescribeConfigsResponseResource()
			rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
			rr.ErrorCode = kerr.TopicAuthorizationFailed.Code
			if r.ResourceType != kmsg.ConfigResourceTypeTopic {
				rr.ErrorCode = kerr.ClusterAuthorizationFailed.Code
			}
			resp.Resources = append(resp.Resources, rr)
		}
		return resp, nil, true
	})
	const n = 10
	var mu sync.Mutex
	failed := map[string]bool{}
	retried := make(chan string, n)
	fns := stream.NewCatalog()
	stream.AddConsumer(fns, "work", func(_ context.Context, m stream.Message[[]byte]) error {
		mu.Lock()
		first := !failed[string(m.Payload)]
		failed[string(m.Payload)] = true
		mu.Unlock()
		if first {
			return longFailure{}
		}
		retried <- string(m.Payload)
		return nil
	})
	logs := &logRecorder{}
	const bytes = "application/octet-stream"
	app := runApp(t, &stream.Config{
		Function:       stream.FunctionConfig{Definition: "work"},
		DefaultBinder:  "kafka",
		OutputBindings: "in",
		Binders:        map[string]stream.BinderConfig{"kafka": {Type: kafka.Type, Environment: map[string]any{"brokers": c.Brokers()}}},
		Bindings: map[string]stream.BindingConfig{
			"in": {Destination: topic, ContentType: bytes},
			"work-in-0": {Destination: topic, Group: "g", ContentType: bytes,
				Consumer: stream.ConsumerConfig{MaxAttempts: 1, DLQ: true, RetryDelays: []time.Duration{delay}}},
		},
	}, fns, logs.logger())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	for i := range n {
		if err := app.Bridge().Send(ctx, "in", stream.Message[[]byte]{Payload: []byte("m" + strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		select {
		case <-retried:
		case <-ctx.Done():
			t.Fatal("not every message was retried")
		}
	}
	if got := describes.Load(); got != 0 {
		t.Errorf("%d DescribeConfigs requests for %d parked messages that fit; want none", got, n)
	}
	if got := logs.count(slog.LevelWarn, "kafka: cannot read the dead-letter topic's max.message.bytes", start); got != 0 {
		t.Errorf("%d WARN lines about max.message.bytes; want none", got)
	}
}
