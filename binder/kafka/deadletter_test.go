package kafka_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// createTopic creates topic with parts partitions and the given configs.
func createTopic(t testing.TB, c *kafkatest.Cluster, topic string, parts int32, configs map[string]string) {
	t.Helper()
	if err := c.Kfake.CreateTopic(topic, parts, configs); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// endOffset returns the end offset of partition part of topic.
func endOffset(t testing.TB, c *kafkatest.Cluster, topic string, part int) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
	res, err := cl.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: {kafkago.LastOffsetOf(part)}}})
	if err != nil {
		t.Fatalf("list offsets of %s: %v", topic, err)
	}
	for _, po := range res.Topics[topic] {
		if po.Partition == part {
			if po.Error != nil {
				t.Fatalf("list offsets of %s/%d: %v", topic, part, po.Error)
			}
			return po.LastOffset
		}
	}
	t.Fatalf("list offsets of %s: partition %d missing", topic, part)
	return 0
}

// poisonRig is a consumer of src, group g, dlq on, that fails the
// messages whose id starts with "poison" with cause; an audit consumer
// collects the dead letters.
type poisonRig struct {
	p    stream.Producer
	cons stream.Consumer
	dead chan stream.Envelope
	tr   *tracker
}

func newPoisonRig(t *testing.T, b stream.Binder, src string, cause error) *poisonRig {
	t.Helper()
	r := &poisonRig{dead: make(chan stream.Envelope, 8), tr: newTracker()}
	spec := consumerSpec(src, "g", func(_ context.Context, m stream.Envelope) error {
		if strings.HasPrefix(m.Headers[idHeader], "poison") {
			return stream.Permanent(cause)
		}
		r.tr.receive(m.Headers[idHeader])
		return nil
	})
	spec.Consumer.DLQ = true
	r.cons = startConsumer(t, b, spec)
	startConsumer(t, b, consumerSpec(stream.DLQName(src, "g"), "audit", func(_ context.Context, m stream.Envelope) error {
		r.dead <- m
		return nil
	}))
	r.p = bindProducer(t, b, src, 1)
	return r
}

// poisonThenValid sends poison, then 100 valid messages behind it, and
// waits up to 10 s for all the valid ones to be handled.
func (r *poisonRig) poisonThenValid(t *testing.T, poison stream.Envelope, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.p.Send(ctx, poison); err != nil {
		t.Fatalf("send the poison message (it must fit the source topic): %v", err)
	}
	start := time.Now()
	produce(ctx, t, r.p, r.tr, prefix, 100, 1, 0)
	r.tr.waitAll(t, 10*time.Second)
	t.Logf("100 valid messages behind the poison handled in %s", time.Since(start).Round(time.Millisecond))
}

// deadLetter waits up to 10 s for the next dead letter.
func (r *poisonRig) deadLetter(t *testing.T) stream.Envelope {
	t.Helper()
	select {
	case dl := <-r.dead:
		return dl
	case <-time.After(10 * time.Second):
		t.Fatal("no dead letter")
		return stream.Envelope{}
	}
}

// TestDeadLetterFitsTopicLimit (issue 8, case 1): a poison message whose
// dead letter does not fit the dead-letter topic's max.message.bytes as it
// is gets fitted (exception texts cut, or the payload dropped) or, when
// not even a headers-only dead letter fits, dropped and counted — and in
// every case the 100 valid messages behind it on the same partition are
// all handled within 10 s and the consumer stops within its timeout.
func TestDeadLetterFitsTopicLimit(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10 // max.message.bytes of the topics: small, so the test is fast
	c := kafkatest.Start(t)
	for _, tc := range []struct {
		name     string
		payload  int // bytes of the poison message's payload
		errText  int // bytes of the error text; 0: short
		dlqLimit int
		// want: "payload" (headers-only), "text" (exception texts cut,
		// payload kept) or "dropped".
		want string
	}{
		{name: "payload near the limit", payload: limit - 400, dlqLimit: limit, want: "payload"},
		{name: "long error text", payload: 10 << 10, errText: 40 << 10, dlqLimit: limit, want: "text"},
		{name: "not even headers fit", payload: 1000, errText: 2000, dlqLimit: 600, want: "dropped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBinder(t, c, nil)
			closeBinder(t, b)
			src := uniqueTopic(t)
			dlq := stream.DLQName(src, "g")
			createTopic(t, c, src, 1, map[string]string{"max.message.bytes": fmt.Sprint(limit)})
			createTopic(t, c, dlq, 1, map[string]string{"max.message.bytes": fmt.Sprint(tc.dlqLimit)})

			cause := errors.New("quantity must be positive")
			if tc.errText > 0 {
				cause = errors.New(strings.Repeat("e", tc.errText))
			}
			cause = fmt.Errorf("charge: %w", fmt.Errorf("validate order: %w", cause))
			rig := newPoisonRig(t, b, src, cause)
			poison := stream.Envelope{Payload: []byte(strings.Repeat("p", tc.payload)), Headers: stream.Headers{idHeader: "poison"}}
			rig.poisonThenValid(t, poison, "m")
			cons := rig.cons

			stats := cons.(stream.DeadLetterReporter).DeadLetterStats()
			if tc.want == "dropped" {
				if stats.Dropped != 1 {
					t.Errorf("stats %+v: want 1 dropped", stats)
				}
				if n := endOffset(t, c, dlq, 0); n != 0 {
					t.Errorf("the dead-letter topic holds %d records, want 0", n)
				}
			} else {
				dl := rig.deadLetter(t)
				h := dl.Headers
				cut := h[stream.HeaderTruncated]
				t.Logf("dead letter: %d payload bytes, %s=%q, stats %+v", len(dl.Payload), stream.HeaderTruncated, cut, stats)
				if h[stream.HeaderOriginalTopic] != src {
					t.Errorf("x-original-topic %q, want %q", h[stream.HeaderOriginalTopic], src)
				}
				if p := h[stream.HeaderOriginalPartition]; len(p) != 4 || binary.BigEndian.Uint32([]byte(p)) != 0 {
					t.Errorf("x-original-partition %x, want 4-byte 0", p)
				}
				if o := h[stream.HeaderOriginalOffset]; len(o) != 8 || binary.BigEndian.Uint64([]byte(o)) != 0 {
					t.Errorf("x-original-offset %x, want 8-byte 0 (the poison was the first record)", o)
				}
				if h[stream.HeaderExceptionMessage] == "" || h[stream.HeaderExceptionStacktrace] == "" || h[stream.HeaderExceptionFQCN] == "" {
					t.Errorf("exception headers missing: %v", h)
				}
				if stats.Truncated != 1 || stats.Dropped != 0 {
					t.Errorf("stats %+v: want 1 truncated, 0 dropped", stats)
				}
				switch tc.want {
				case "payload":
					if !strings.Contains(cut, "payload") || len(dl.Payload) != 0 || stats.HeadersOnly != 1 {
						t.Errorf("want a headers-only dead letter, got %d payload bytes, truncated %q, stats %+v", len(dl.Payload), cut, stats)
					}
				case "text":
					if !strings.Contains(cut, stream.HeaderExceptionStacktrace) || strings.Contains(cut, "payload") {
						t.Errorf("want the stack trace cut and the payload kept, truncated %q", cut)
					}
					if string(dl.Payload) != string(poison.Payload) {
						t.Errorf("payload changed: %d bytes, want %d", len(dl.Payload), len(poison.Payload))
					}
					if !strings.Contains(h[stream.HeaderExceptionMessage], "charge: validate order: eee") {
						t.Errorf("x-exception-message %.40q…", h[stream.HeaderExceptionMessage])
					}
				}
			}

			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			stopStart := time.Now()
			if err := cons.Stop(sctx); err != nil {
				t.Errorf("stop: %v", err)
			}
			t.Logf("stopped in %s", time.Since(stopStart).Round(time.Millisecond))
		})
	}
}

// produceRefusal is a refusal of produce requests installed by
// refuseProduceTo.
type produceRefusal struct {
	hits    atomic.Int64 // requests refused
	stopped atomic.Bool
}

// stop ends the refusal: the next produce request is handled as usual and
// removes the control function (kfake's DropControl only works from
// within one).
func (r *produceRefusal) stop() { r.stopped.Store(true) }

// refuseProduceTo makes the broker answer the next n produce requests for
// topic with code (n < 0: all of them, until stop), via kfake's Control.
func refuseProduceTo(c *kafkatest.Cluster, topic string, code *kerr.Error, n int64) *produceRefusal {
	r := &produceRefusal{}
	c.Kfake.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		if r.stopped.Load() {
			c.Kfake.DropControl()
			return nil, nil, false
		}
		c.Kfake.KeepControl()
		req := kr.(*kmsg.ProduceRequest)
		if len(req.Topics) != 1 || req.Topics[0].Topic != topic || (n >= 0 && r.hits.Load() >= n) {
			return nil, nil, false
		}
		r.hits.Add(1)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = code.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return r
}

// TestDeadLetterRefused (issue 8, cases 1 and 2): what the broker answers
// to a dead letter decides its fate, and no answer stops the partition.
func TestDeadLetterRefused(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	cause := errors.New("quantity must be positive")

	// A limit cached before the topic's max.message.bytes was lowered:
	// the broker refuses the dead letter, the binder reads the limit again
	// and sends it without its payload.
	t.Run("stale limit", func(t *testing.T) {
		b := newBinder(t, c, nil)
		closeBinder(t, b)
		src := uniqueTopic(t)
		dlq := stream.DLQName(src, "g")
		createTopic(t, c, src, 1, nil)
		createTopic(t, c, dlq, 1, nil)
		rig := newPoisonRig(t, b, src, cause)
		rig.poisonThenValid(t, stream.Envelope{Payload: make([]byte, 1000), Headers: stream.Headers{idHeader: "poison-1"}}, "a")
		if dl := rig.deadLetter(t); len(dl.Payload) != 1000 || dl.Headers[stream.HeaderTruncated] != "" {
			t.Fatalf("first dead letter: %d payload bytes, truncated %q", len(dl.Payload), dl.Headers[stream.HeaderTruncated])
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cl := &kafkago.Client{Addr: kafkago.TCP(c.Addrs()...)}
		res, err := cl.IncrementalAlterConfigs(ctx, &kafkago.IncrementalAlterConfigsRequest{Resources: []kafkago.IncrementalAlterConfigsRequestResource{{
			ResourceType: kafkago.ResourceTypeTopic, ResourceName: dlq,
			Configs: []kafkago.IncrementalAlterConfigsRequestConfig{{Name: "max.message.bytes", Value: "8192", ConfigOperation: kafkago.ConfigOperationSet}},
		}}})
		if err == nil && len(res.Resources) > 0 {
			err = res.Resources[0].Error
		}
		if err != nil {
			t.Fatalf("lower max.message.bytes of %s: %v", dlq, err)
		}
		rig.poisonThenValid(t, stream.Envelope{Payload: make([]byte, 20<<10), Headers: stream.Headers{idHeader: "poison-2"}}, "b")
		dl := rig.deadLetter(t)
		if len(dl.Payload) != 0 || !strings.Contains(dl.Headers[stream.HeaderTruncated], "payload") {
			t.Errorf("second dead letter: %d payload bytes, truncated %q; want headers-only", len(dl.Payload), dl.Headers[stream.HeaderTruncated])
		}
		if s := rig.cons.(stream.DeadLetterReporter).DeadLetterStats(); s != (stream.DeadLetterStats{Truncated: 1, HeadersOnly: 1}) {
			t.Errorf("stats %+v", s)
		}
	})

	for _, tc := range []struct {
		name     string
		code     *kerr.Error
		n        int64 // refusals; -1: every one
		attempts int64 // produce requests the binder makes
		dropped  bool
	}{
		// Refused as too large even without payload: dropped after two tries.
		{"always too large", kerr.MessageTooLarge, -1, 2, true},
		// Not authorised: dropped at once.
		{"not authorised", kerr.TopicAuthorizationFailed, -1, 1, true},
		// Transient: retried until it is written.
		{"not enough replicas", kerr.NotEnoughReplicas, 3, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBinder(t, c, nil)
			closeBinder(t, b)
			src := uniqueTopic(t)
			dlq := stream.DLQName(src, "g")
			createTopic(t, c, src, 1, nil)
			createTopic(t, c, dlq, 1, nil)
			rig := newPoisonRig(t, b, src, cause)
			ref := refuseProduceTo(c, dlq, tc.code, tc.n)
			t.Cleanup(ref.stop)
			rig.poisonThenValid(t, stream.Envelope{Payload: make([]byte, 1000), Headers: stream.Headers{idHeader: "poison"}}, "m")
			ref.stop()
			hits := &ref.hits
			stats := rig.cons.(stream.DeadLetterReporter).DeadLetterStats()
			t.Logf("%d dead-letter produce requests refused with %s; stats %+v", hits.Load(), tc.code.Message, stats)
			if hits.Load() != tc.attempts {
				t.Errorf("%d dead-letter produce requests refused, want %d", hits.Load(), tc.attempts)
			}
			if tc.dropped {
				if stats.Dropped != 1 {
					t.Errorf("stats %+v: want 1 dropped", stats)
				}
				return
			}
			if dl := rig.deadLetter(t); len(dl.Payload) != 1000 || stats.Dropped != 0 {
				t.Errorf("dead letter of %d payload bytes, stats %+v", len(dl.Payload), stats)
			}
		})
	}
}
