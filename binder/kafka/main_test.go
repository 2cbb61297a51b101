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
// ./binder/kafka: 167 s with 2 at once, 117 s with 4). On 2026-12-06,
// beside another package's tests at load 3-9: 160 s with 4 (the test
// process using 39 CPU-s), 122 and 127 s with 6, 106-128 s with 8, where
// TestFetchFromBlackHoleReconnects' send after the black hole once ran out
// of its 20 s: 8 is more than its timings bear.
const parallelTests = 6

func TestMain(m *testing.M) {
	flag.Parse()
	testparallel.AtLeast(parallelTests)
	os.Exit(m.Run())
}
