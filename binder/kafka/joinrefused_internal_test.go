package kafka

import (
	"context"
	"fmt"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/stream"
)

// TestJoinBackOffOnlyForRefusals: the join back-off of b3fd929 is for
// joins the broker refused (a failed login, a refused group), not for the
// group coordinator's routine answers during rebalances (a member or
// generation it no longer knows, a coordinator moving), after which
// kafka-go joins again at once: backing off there held up the group's
// rebalance by up to 5s a step (review).
func TestJoinBackOffOnlyForRefusals(t *testing.T) {
	b, err := New(context.Background(), stream.BinderSettings{Name: "kafka", Type: Type, Environment: map[string]any{"brokers": "127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	bd := b.(*Binder)
	refused := func(err error) bool { return !bd.unreachable(err) && !groupCoordination(err) }
	for _, e := range []error{kafkago.RebalanceInProgress, kafkago.UnknownMemberId, kafkago.IllegalGeneration, kafkago.MemberIDRequired,
		kafkago.GroupCoordinatorNotAvailable, kafkago.NotCoordinatorForGroup, kafkago.GroupLoadInProgress, fmt.Errorf("joining: %w", kafkago.UnknownMemberId)} {
		if refused(e) {
			t.Errorf("%v is backed off as a refused join; want a join again at once", e)
		}
	}
	for _, e := range []error{kafkago.SASLAuthenticationFailed, kafkago.GroupAuthorizationFailed, kafkago.InvalidGroupId} {
		if !refused(e) {
			t.Errorf("%v is not backed off; want the refused-join back-off", e)
		}
	}
}
