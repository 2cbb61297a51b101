package logtext

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBound(t *testing.T) {
	if got := Bound("short"); got != "short" {
		t.Errorf("Bound(short) = %q", got)
	}
	if got := Error(nil); got != "" {
		t.Errorf("Error(nil) = %q", got)
	}
	long := strings.Repeat("é", 2<<20) // 4 MiB of 2-byte runes
	got := Error(errors.New(long))
	if len(got) > Max+32 || !utf8.ValidString(got) || !strings.HasSuffix(got, " bytes cut]") {
		t.Errorf("Error(4 MiB) = %d bytes, valid UTF-8 %v, ends %q", len(got), utf8.ValidString(got), got[len(got)-20:])
	}
}
