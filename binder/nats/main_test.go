package nats_test

import (
	"flag"
	"os"
	"testing"

	"github.com/streambind/streambind/internal/testparallel"
)

// parallelTests is how many parallel tests run at least at once when
// -parallel is not given: the package's parallel tests wait on ack-wait,
// inactive-threshold and stream timers, not on the CPU (go test -race
// -count=1 ./binder/nats: about 100 s with every test in turn).
const parallelTests = 4

func TestMain(m *testing.M) {
	flag.Parse()
	testparallel.AtLeast(parallelTests)
	os.Exit(m.Run())
}
