// Package testparallel lets a test package run more of its parallel tests
// at once than go test's default (-parallel defaults to GOMAXPROCS, 2 on
// the CI machine) when those tests mostly wait — on brokers, timers,
// leases — rather than compute. An explicit -parallel always wins.
package testparallel

import (
	"flag"
	"runtime"
	"strconv"
)

// AtLeast sets -test.parallel to n when the command line does not give
// -parallel and GOMAXPROCS is below n. Call it from TestMain after
// flag.Parse and before m.Run.
func AtLeast(n int) {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if given || runtime.GOMAXPROCS(0) >= n {
		return
	}
	if err := flag.Set("test.parallel", strconv.Itoa(n)); err != nil {
		panic("testparallel: " + err.Error()) // only without the testing flags: a misuse
	}
}
