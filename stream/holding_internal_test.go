package stream

import "testing"

// TestHoldingCountsInFlight: ConsumerSpec.Holding (bindingStats.holding)
// counts k messages in flight until release, which ends the count once
// however often it is called.
func TestHoldingCountsInFlight(t *testing.T) {
	var s bindingStats
	release := s.holding(2)
	if st := s.snapshot(); st.InFlight != 2 {
		t.Fatalf("in flight %d while 2 are held; want 2", st.InFlight)
	}
	release()
	release()
	if st := s.snapshot(); st.InFlight != 0 || st.OldestInFlight != 0 {
		t.Fatalf("in flight %d, oldest %s after release; want 0, 0", st.InFlight, st.OldestInFlight)
	}
}
