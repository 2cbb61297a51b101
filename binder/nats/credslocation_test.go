package nats_test

import (
	"context"
	"strings"
	"testing"

	natsbinder "github.com/streambind/streambind/binder/nats"
	"github.com/streambind/streambind/binder/nats/natstest"
	"github.com/streambind/streambind/stream"
)

// A credentials-file written as a Spring location: "file:<path>" is the
// file (checked at settings time and read at connect, end to end against a
// server in operator mode); "classpath:app.creds" is refused when the
// settings are read, at its key, with an error that is not a file problem
// (no host can read it).
func TestCredentialsFileSpringLocation(t *testing.T) {
	o := newOperatorSetup(t)
	srv := natstest.Start(t, natstest.Options{Config: o.config})
	t.Run("file-prefix", func(t *testing.T) {
		var logs logBuffer
		roundTrip(t, authBinder(t, map[string]any{"servers": srv.URL(), "credentials-file": "file:" + o.creds}, &logs))
	})
	t.Run("classpath", func(t *testing.T) {
		_, err := natsbinder.New(context.Background(), stream.BinderSettings{Name: "n", Type: natsbinder.Type,
			Environment: map[string]any{"servers": srv.URL(), "credentials-file": "classpath:app.creds"}})
		if err == nil {
			t.Fatal("no error")
		}
		const want = `stream.binders.n.environment.credentials-file: "classpath:app.creds": a classpath: resource cannot be read by a Go service; give a file path`
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	})
}
