package bindertest

import (
	"context"
	"testing"
	"time"

	"github.com/streambind/streambind/stream"
)

// RunApp runs app until the test or benchmark ends (its cleanup stops the
// app and reports an error Run returned) and waits, up to a minute, for
// it to be ready; a Run that ends first fails tb.
func RunApp(tb testing.TB, app *stream.App) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = app.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
		if runErr != nil {
			tb.Errorf("Run: %v", runErr)
		}
	})
	select {
	case <-app.Ready():
	case <-done:
		tb.Fatalf("Run ended before the app was ready: %v", runErr)
	case <-time.After(time.Minute):
		tb.Fatal("the app is not ready after a minute")
	}
}
