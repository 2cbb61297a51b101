package redis

import (
	"time"

	"github.com/streambind/streambind/stream"
)

// MeasuredCost records d as the handler cost an entry that consumer
// binding c measured, as its first entries handled would: a test of what
// a member does with entries it reads ahead (gives back, keeps from
// reclaim, loses to another member) makes it read ahead so without
// handling entries first. Only that binding is affected.
func MeasuredCost(c stream.Consumer, d time.Duration) {
	switch x := c.(type) {
	case *consumer:
		x.noteCost(d)
	case consumers:
		for _, m := range x {
			m.noteCost(d)
		}
	}
}
