//go:build race

package redact_test

// raceEnabled: the race detector slows everything about tenfold.
const raceEnabled = true
