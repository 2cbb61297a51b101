package stream_test

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/stream"
)

// TestBinderTypeImpliedByName: a binder declared in code without a type
// takes its name for its type when that names a registered binder type,
// as in SCSt; a name that is none is an error that says so. The Config
// given to NewApp is not changed.
func TestBinderTypeImpliedByName(t *testing.T) {
	cfg := &stream.Config{Binders: map[string]stream.BinderConfig{memory.Type: {}}}
	app, err := stream.NewApp(cfg, stream.NewCatalog(), stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals())
	if err != nil {
		t.Fatalf("NewApp with binder %q declared without a type: %v", memory.Type, err)
	}
	_ = app
	if got := cfg.Binders[memory.Type].Type; got != "" {
		t.Errorf("the caller's Config changed: type %q", got)
	}

	cfg = &stream.Config{Binders: map[string]stream.BinderConfig{"eu": {}}}
	_, err = stream.NewApp(cfg, stream.NewCatalog(), stream.WithBinderType(memory.Type, memory.New), stream.WithoutSignals())
	if err == nil || !strings.Contains(err.Error(), "stream.binders.eu.type") || !strings.Contains(err.Error(), `"eu" is no registered binder type`) {
		t.Errorf("NewApp with binder eu without a type: %v; want an error naming stream.binders.eu.type", err)
	}
}
