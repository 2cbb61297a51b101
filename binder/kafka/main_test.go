package kafka_test

import (
	"flag"
	"os"
	"testing"

	"github.com/streambind/streambind/internal/testparallel"
)

// parallelTests is how many parallel tests run at least at once when
// -parallel is not given: most of the package's tests wait on kfake's
// timers, group rebalances and back-offs (go test -race -count=1
// ./binder/kafka: 167 s with 2 at once, 117 s with 4).
const parallelTests = 4

func TestMain(m *testing.M) {
	flag.Parse()
	testparallel.AtLeast(parallelTests)
	os.Exit(m.Run())
}
