package config

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// randomValue is the value of a placeholder ${random.*}, as Spring Boot's
// RandomValuePropertySource gives it, so that an SCSt file's
// group: ${random.uuid} or instance-id: ${random.value} runs unchanged:
//
//   - random.uuid: a UUID (version 4);
//   - random.value (and any other random.* name, as in Spring): 32 random
//     hexadecimal digits;
//   - random.int, random.long: any 32-bit / 64-bit integer;
//   - random.int(max), random.int(min,max), and the same with [...] (any
//     single character on each side, as Spring reads it), likewise
//     random.long: an integer in [min, max), min 0 when only max is given.
//
// Every placeholder gets a value of its own (Spring draws one each time a
// key is resolved), and so does every reference to a key whose value
// drew one (placeholders.random: b: ${a} beside a: ${random.uuid} is
// not a's UUID, as in Spring Boot). ok is false, with no problem, for a name that does not
// start with "random."; problem says what is wrong with one that does.
func randomValue(name string) (value string, ok bool, problem string) {
	rest, isRandom := strings.CutPrefix(name, "random.")
	if !isRandom {
		return "", false, ""
	}
	switch rest {
	case "uuid":
		return uuid.NewString(), true, ""
	case "int":
		return randomIn(big.NewInt(-1<<31), big.NewInt(1<<31)), true, ""
	case "long":
		return randomIn(big.NewInt(-1<<63), new(big.Int).Lsh(big.NewInt(1), 63)), true, ""
	}
	for _, typ := range []struct {
		name     string
		min, max *big.Int
	}{{"int", big.NewInt(-1 << 31), big.NewInt(1<<31 - 1)}, {"long", big.NewInt(-1 << 63), big.NewInt(1<<63 - 1)}} {
		args, found := strings.CutPrefix(rest, typ.name)
		if !found || len(args) < 3 {
			continue
		}
		lo, hi, err := randomRange(args[1:len(args)-1], typ.min, typ.max)
		if err != nil {
			return "", false, fmt.Sprintf("placeholder ${%s}: %v (Spring's forms: ${random.%s(max)}, ${random.%s(min,max)}, ${random.%s[min,max]}: an integer in [min, max))", name, err, typ.name, typ.name, typ.name)
		}
		return randomIn(big.NewInt(lo), big.NewInt(hi)), true, ""
	}
	// random.value, and (as in Spring) any other random.* name.
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b), true, ""
}

// randomRange parses "max" or "min,max" within [lo, hi] for each bound,
// min < max.
func randomRange(s string, lo, hi *big.Int) (int64, int64, error) {
	parts := strings.Split(s, ",")
	if len(parts) > 2 {
		return 0, 0, fmt.Errorf("%q has %d bounds; want max or min,max", s, len(parts))
	}
	var bounds []int64
	for _, p := range parts {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil || big.NewInt(n).Cmp(lo) < 0 || big.NewInt(n).Cmp(hi) > 0 {
			return 0, 0, fmt.Errorf("bound %q is not an integer in [%v, %v]", strings.TrimSpace(p), lo, hi)
		}
		bounds = append(bounds, n)
	}
	min, max := int64(0), bounds[0]
	if len(bounds) == 2 {
		min, max = bounds[0], bounds[1]
	}
	if min >= max {
		return 0, 0, fmt.Errorf("min %d is not below max %d", min, max)
	}
	return min, max, nil
}

// randomIn returns a uniformly random integer in [lo, hi), in decimal.
func randomIn(lo, hi *big.Int) string {
	n, _ := rand.Int(rand.Reader, new(big.Int).Sub(hi, lo)) // never fails (crypto/rand)
	return n.Add(n, lo).String()
}
