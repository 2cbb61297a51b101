package props

import "testing"

func TestURLOverAddress(t *testing.T) {
	url0, url1 := SetAt{0, "b.url"}, SetAt{1, "e.url"}
	addr0, addr1 := SetAt{0, "b.address"}, SetAt{1, "e.address"}
	for _, tc := range []struct {
		name      string
		url, addr SetAt
		differ    bool
		wins      bool
		ignored   [2]string
	}{
		{"url alone", url0, SetAt{}, true, false, [2]string{}},
		{"address alone", SetAt{}, addr1, true, true, [2]string{}},
		{"one source: url", url0, addr0, true, false, [2]string{"b.address", "b.url"}},
		{"environment's url", url1, addr0, true, false, [2]string{"b.address", "e.url"}},
		{"environment's address", url0, addr1, true, true, [2]string{"b.url (its host and port)", "e.address"}},
		{"the same server: no warning", url0, addr0, false, false, [2]string{}},
	} {
		wins, ignored := URLOverAddress(tc.url, tc.addr, tc.differ)
		if wins != tc.wins || ignored != tc.ignored {
			t.Errorf("%s: %v %q, want %v %q", tc.name, wins, ignored, tc.wins, tc.ignored)
		}
	}
}
