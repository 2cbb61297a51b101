package main

import (
	"encoding/binary"
	"testing"

	"github.com/streambind/streambind/stream"
)

// TestHeaderTextNoTimestamp: the Kafka dead letter of a record without a
// timestamp has x-original-timestamp -1 (as SCSt writes it); dlq show
// says so rather than print it as a date (1969-12-31T23:59:59.999Z).
func TestHeaderTextNoTimestamp(t *testing.T) {
	none := string(binary.BigEndian.AppendUint64(nil, ^uint64(0))) // -1
	if got, want := headerText(stream.HeaderOriginalTimestamp, none), "-1 (no timestamp)"; got != want {
		t.Errorf("headerText(x-original-timestamp, -1) = %q, want %q", got, want)
	}
}
