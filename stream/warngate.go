package stream

import "github.com/streambind/streambind/internal/pace"

// warnGate paces a warning that repeats for as long as a fault lasts (an
// output's broker refusing every send: the input is redelivered and fails
// again every redelivery-delay): through at 1s, doubling to a minute while
// it keeps coming, back to 1s after a quiet spell, saying how many it held
// back. Without it a refused output destination logged a WARN three times
// a second for as long as it was refused (about 12,000 lines an hour).
type warnGate = pace.Gate
