package scst_test

import (
	"flag"
	"os"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/testparallel"
)

// parallelTests is how many fixtures run at least at once when -parallel
// is not given: each waits on its brokers (kfake clusters, a RabbitMQ
// virtual host) far more than it computes (go test -race -count=1
// ./e2e/scst alone, on a 2-core machine loaded by other work: 48 s with
// only the RabbitMQ fixtures in parallel, 2 at a time; 32 s with all of
// them 4 at a time, 27-42 s with 6, 24 s with 8 — noisy; 4-7 s of each
// run come after the last test: rabbittest.Main deleting the virtual
// hosts).
const parallelTests = 6

// TestMain deletes the tests' virtual hosts together at the end (see
// rabbittest.Main), and runs at least parallelTests fixtures at once.
func TestMain(m *testing.M) {
	flag.Parse()
	testparallel.AtLeast(parallelTests)
	os.Exit(rabbittest.Main(m))
}
