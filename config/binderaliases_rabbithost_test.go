package config

import "testing"

// TestRabbitHostIsNoAliasOfAddresses: host next to addresses in
// stream.rabbit.binder loads (the binder lets addresses win, with a WARN);
// host and addresses are not two names of one setting. Before, the loader
// refused them from one source ("keep one").
func TestRabbitHostIsNoAliasOfAddresses(t *testing.T) {
	l := loadApp(t, "stream.rabbit.binder: { addresses: 'a:5672', host: b }\n")
	if b := binderSection(t, l, "rabbit", "binder"); len(b) != 2 {
		t.Errorf("binder section %v: want both keys", b)
	}
}
