package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestDLQOffByEnvNamesTheVariable: with the file's consumer.dlq: true and
// STREAM_BINDINGS_WORK_IN_0_CONSUMER_DLQ=false, dlq ls said "set
// stream.bindings.work-in-0.consumer.dlq: true", which the file does; it
// names the variable.
func TestDLQOffByEnvNamesTheVariable(t *testing.T) {
	t.Parallel()
	broker, err := memory.NewBroker(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close(context.Background()) })
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, "  default-binder: memory")})
	factories := map[string]stream.BinderFactory{memory.Type: memory.Factory(broker)}
	r := runWith(t, &runEnv{dir: dir, binders: factories, env: []string{"STREAM_BINDINGS_WORK_IN_0_CONSUMER_DLQ=false"}}, "dlq", "ls", "--binding", "work-in-0")
	want := "binding work-in-0 does not dead-letter (stream.bindings.work-in-0.consumer.dlq is false, set by env STREAM_BINDINGS_WORK_IN_0_CONSUMER_DLQ, which overrides the files: set it to true, or unset it for the files' value)"
	if r.code != exitFailure || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}
}
