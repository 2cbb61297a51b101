package kafka

import (
	"slices"
	"testing"
)

// The removed offsets beyond the committed one survive the round trip
// through the commit metadata, as ranges; other metadata is no list.
func TestRemovedMetadata(t *testing.T) {
	removed := map[int64]bool{3: true, 5: true, 6: true, 7: true, 9: true, 1: true}
	meta := formatRemoved(removed, nil, 2)
	if meta != removedPrefix+"3,5-7,9" {
		t.Fatalf("formatRemoved = %q", meta)
	}
	if got := parseRemoved(meta); !slices.Equal(got, []int64{3, 5, 6, 7, 9}) {
		t.Errorf("parseRemoved = %v", got)
	}
	if formatRemoved(map[int64]bool{1: true}, nil, 2) != "" {
		t.Error("offsets before the committed one are listed")
	}
	// Ranges span skipped offsets (transaction markers) between removed
	// ones, not a gap holding a dead letter (8).
	skipped := map[int64]bool{4: true, 8: false, 10: true, 11: true}
	removed = map[int64]bool{3: true, 5: true, 7: true, 9: true, 12: true}
	if meta := formatRemoved(removed, skipped, 0); meta != removedPrefix+"3-5,7,9-12" {
		t.Errorf("formatRemoved with skipped offsets = %q", meta)
	}
	for _, bad := range []string{"", "x", removedPrefix + "a", removedPrefix + "5-3", removedPrefix + "1-99999999"} {
		if got := parseRemoved(bad); got != nil {
			t.Errorf("parseRemoved(%q) = %v, want nil", bad, got)
		}
	}
}
