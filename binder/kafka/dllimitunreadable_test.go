package kafka_test

// The dead-letter topic's max.message.bytes, where it cannot be read
// (DescribeConfigs refused by an ACL, say): every dead letter asked again
// (a topic and a broker DescribeConfigs, a Metadata, a WARN), so a storm
// of dead letters was a storm of admin requests.

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// TestDeadLetterLimitUnreadableCached: with DescribeConfigs refused, ten
// failed messages are dead-lettered (with Kafka's default limit) and the
// limit is asked for once (the topic's, then the broker's: two
// DescribeConfigs), not once per dead letter (20 before).
func TestDeadLetterLimitUnreadableCached(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
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
	b := newBinder(t, c, nil)
	closeBinder(t, b)
	src := uniqueTopic(t)
	createTopic(t, c, src, 1, nil)
	createTopic(t, c, stream.DLQName(src, "g"), 1, nil)
	rig := newPoisonRig(t, b, src, errors.New("fails"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 10
	for i := range n {
		if err := rig.p.Send(ctx, stream.Envelope{Payload: []byte("x"), Headers: stream.Headers{idHeader: "poison-" + strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		rig.deadLetter(t)
	}
	if got := describes.Load(); got > 2 {
		t.Errorf("%d DescribeConfigs requests for %d dead letters; want the first one's 2 (topic, broker)", got, n)
	}
}
