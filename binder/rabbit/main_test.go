package rabbit

import (
	"flag"
	"os"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/testparallel"
)

// parallelTests is how many parallel tests run at least at once when
// -parallel is not given (its default is GOMAXPROCS: 2 on the CI machine). The
// parallel tests here mostly wait on the broker and on timers (back-offs,
// outages, idle and redelivery delays): the package's test binary used
// about a third of one core with 2 at once. 6 rather than 4: go test -race
// -count=1 ./binder/rabbit beside binder/kafka's tests, load 3-9 from other
// jobs: 125 s with 4, 109 s with 6 (the test process using 49 CPU-s).
const parallelTests = 6

// TestMain deletes the tests' virtual hosts together at the end (see
// rabbittest.Main) and runs at least parallelTests parallel tests at once
// unless -parallel says otherwise.
func TestMain(m *testing.M) {
	flag.Parse()
	testparallel.AtLeast(parallelTests)
	os.Exit(rabbittest.Main(m))
}
