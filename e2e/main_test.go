package e2e

import (
	"flag"
	"os"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/testparallel"
)

// parallelTests is how many of the tests run at least at once when
// -parallel is not given (its default is GOMAXPROCS: 2 on the CI machine):
// all of them. Each has its own Kafka cluster (in process), virtual host or
// names, and they mostly wait — on rabbitmqctl (an Erlang VM a call, seconds
// under load), outages and redeliveries; two at a time, the package took
// as long as its tests one after the other.
const parallelTests = 6

// TestMain deletes the tests' virtual hosts together at the end (see
// rabbittest.Main) rather than each test waiting for its own deletion, and
// runs at least parallelTests tests at once unless -parallel says otherwise.
func TestMain(m *testing.M) {
	flag.Parse()
	testparallel.AtLeast(parallelTests)
	os.Exit(rabbittest.Main(m))
}
