package rabbit

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// parallelTests is how many parallel tests run at least at once when
// -parallel is not given (its default is GOMAXPROCS: 2 on the CI machine). The
// parallel tests here mostly wait on the broker and on timers (back-offs,
// outages, idle and redelivery delays): the package's test binary used
// about a third of one core with 2 at once.
const parallelTests = 4

// TestMain deletes the tests' virtual hosts together at the end (see
// rabbittest.Main) and runs at least parallelTests parallel tests at once
// unless -parallel says otherwise.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given && runtime.GOMAXPROCS(0) < parallelTests {
		if err := flag.Set("test.parallel", strconv.Itoa(parallelTests)); err != nil {
			panic(err)
		}
	}
	os.Exit(rabbittest.Main(m))
}
