package nats_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/streambind/streambind/binder/nats/natstest"
)

// operatorSetup is a decentralised-auth (JWT) setup: an operator, a
// system account, an account with JetStream and a user of it.
type operatorSetup struct {
	config    string // nats-server configuration
	creds     string // the user's .creds file (user JWT and nkey seed)
	userSeed  string
	otherCred string // the .creds of a user signed by an account the server does not know
}

func newOperatorSetup(t *testing.T) operatorSetup {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	okp, err := nkeys.CreateOperator()
	must(err)
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	oc.Name = "test-operator"
	account := func(name string, js bool) (nkeys.KeyPair, string, string) {
		akp, err := nkeys.CreateAccount()
		must(err)
		apub, _ := akp.PublicKey()
		ac := jwt.NewAccountClaims(apub)
		ac.Name = name
		if js {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		ajwt, err := ac.Encode(okp)
		must(err)
		return akp, apub, ajwt
	}
	_, syspub, sysjwt := account("SYS", false)
	oc.SystemAccount = syspub
	ojwt, err := oc.Encode(okp)
	must(err)
	akp, apub, ajwt := account("APP", true)
	user := func(signer nkeys.KeyPair) (string, string) {
		ukp, err := nkeys.CreateUser()
		must(err)
		upub, _ := ukp.PublicKey()
		uc := jwt.NewUserClaims(upub)
		uc.Name = "streambind"
		ujwt, err := uc.Encode(signer)
		must(err)
		seed, _ := ukp.Seed()
		creds, err := jwt.FormatUserConfig(ujwt, seed)
		must(err)
		return string(creds), string(seed)
	}
	creds, seed := user(akp)
	stranger, err := nkeys.CreateAccount()
	must(err)
	other, _ := user(stranger)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		must(os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	return operatorSetup{
		config: "operator: " + ojwt + "\nsystem_account: " + syspub + "\nresolver: MEMORY\nresolver_preload: {\n  " +
			syspub + ": " + sysjwt + "\n  " + apub + ": " + ajwt + "\n}\n",
		creds:     write("app.creds", creds),
		userSeed:  seed,
		otherCred: write("stranger.creds", other),
	}
}

// TestCredentialsFile: a .creds file (user JWT and nkey seed) against a
// server in operator (decentralised JWT) mode: the right one works end to
// end (JetStream included), one of an account the server does not know is
// refused at once, not as unavailable, and no seed shows in errors or
// logs.
func TestCredentialsFile(t *testing.T) {
	o := newOperatorSetup(t)
	srv := natstest.Start(t, natstest.Options{Config: o.config})
	var logs logBuffer
	t.Run("right", func(t *testing.T) {
		roundTrip(t, authBinder(t, map[string]any{"servers": srv.URL(), "credentials-file": o.creds}, &logs))
	})
	t.Run("unknown-account", func(t *testing.T) {
		var logs logBuffer
		seed := readSeed(t, o.otherCred)
		refused(t, authBinder(t, map[string]any{"servers": srv.URL(), "credentials-file": o.otherCred}, &logs), &logs, seed)
	})
	if strings.Contains(logs.String(), o.userSeed) {
		t.Errorf("log shows the nkey seed:\n%s", logs.String())
	}
}

// readSeed returns the nkey seed of a .creds file.
func readSeed(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := jwt.ParseDecoratedUserNKey(b)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	return string(seed)
}
