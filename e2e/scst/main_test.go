package scst_test

import (
	"os"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestMain deletes the tests' virtual hosts together at the end (see
// rabbittest.Main).
func TestMain(m *testing.M) { os.Exit(rabbittest.Main(m)) }
