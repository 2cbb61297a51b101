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
// -count=1 ./binder/nats: about 100 s with every test in turn; with 6 at
// a time the test process used 20 CPU-s in 78 s, and the parallel phase
// took about 31 s rather than 44 s with 4).
const parallelTests = 6

func TestMain(m *testing.M) {
	flag.Parse()
	testparallel.AtLeast(parallelTests)
	os.Exit(m.Run())
}
