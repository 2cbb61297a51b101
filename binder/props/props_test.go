package props_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/props"
	"github.com/streambind/streambind/stream"
)

// check compares a converter's result with want, or its error with the
// substring wantErr.
func check[T any](t *testing.T, in any, got T, err error, want T, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%T %#v: got %v, %v; want an error containing %q", in, in, got, err, wantErr)
		}
		return
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("%T %#v: got %#v, %v; want %#v", in, in, got, err, want)
	}
}

func TestNorm(t *testing.T) {
	for in, want := range map[string]string{
		"buffer-size": "buffersize", "bufferSize": "buffersize", "BUFFER_SIZE": "buffersize",
		"buffersize": "buffersize", "-_": "", "": "", "a.b-c": "a.bc",
	} {
		if got := props.Norm(in); got != want {
			t.Errorf("Norm(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSortedKeys(t *testing.T) {
	if got := props.SortedKeys(map[string]any{"b": 1, "a": 2, "C": 3}); !reflect.DeepEqual(got, []string{"C", "a", "b"}) {
		t.Errorf("SortedKeys = %q", got)
	}
	if got := props.SortedKeys(nil); got == nil || len(got) != 0 {
		t.Errorf("SortedKeys(nil) = %#v, want empty", got)
	}
}

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		in      any
		lo      int
		want    int
		wantErr string
	}{
		{in: 16, lo: 1, want: 16},
		{in: int8(3), lo: 1, want: 3},
		{in: int16(3), lo: 1, want: 3},
		{in: int32(3), lo: 1, want: 3},
		{in: int64(3), lo: 1, want: 3},
		{in: uint(3), lo: 1, want: 3},
		{in: uint8(3), lo: 1, want: 3},
		{in: uint16(3), lo: 1, want: 3},
		{in: uint32(3), lo: 1, want: 3},
		{in: uint64(3), lo: 1, want: 3},
		{in: 16.0, lo: 1, want: 16},
		{in: float32(16), lo: 1, want: 16},
		{in: json.Number("16"), lo: 1, want: 16},
		{in: "16", lo: 1, want: 16},
		{in: " 16\n", lo: 1, want: 16},
		{in: "+16", lo: 1, want: 16},
		{in: -1, lo: -1, want: -1},
		{in: "-1", lo: -1, want: -1},
		{in: math.MaxInt32, lo: 1, want: math.MaxInt32},
		{in: 0, lo: 0, want: 0},

		{in: 0, lo: 1, wantErr: "must be at least 1, got 0"},
		{in: "-5", lo: 1, wantErr: "must be at least 1, got -5"},
		{in: -2.0, lo: -1, wantErr: "must be at least -1, got -2"},
		{in: int64(math.MinInt64), lo: 1, wantErr: "must be at least 1, got -9223372036854775808"},
		{in: math.MaxInt32 + 1, lo: 1, wantErr: "must be at most 2147483647, got 2147483648"},
		{in: uint64(math.MaxUint64), lo: 1, wantErr: "must be at most 2147483647, got 18446744073709551615"},
		{in: 1e10, lo: 1, wantErr: "must be at most 2147483647, got 10000000000"},
		{in: 1e300, lo: 1, wantErr: "must be at most 2147483647, got 1000000"},
		{in: -1e300, lo: 1, wantErr: "must be at least 1, got -1000000"},
		{in: 2.5, lo: 1, wantErr: "want a whole number, got 2.5"},
		{in: math.NaN(), lo: 1, wantErr: "want a whole number, got NaN"},
		{in: math.Inf(1), lo: 1, wantErr: "want a whole number, got +Inf"},
		{in: "many", lo: 1, wantErr: `want a whole number, got "many"`},
		{in: "", lo: 1, wantErr: `want a whole number, got ""`},
		{in: "1e3", lo: 1, wantErr: `want a whole number, got "1e3"`},
		{in: "99999999999999999999", lo: 1, wantErr: "want a whole number"},
		{in: json.Number("1.5"), lo: 1, wantErr: `want a whole number, got "1.5"`},
		{in: true, lo: 1, wantErr: "want a whole number, got bool true"},
		{in: nil, lo: 1, wantErr: "want a whole number, got <nil>"},
		{in: time.Second, lo: 1, wantErr: "want a whole number, got time.Duration 1s"},
	} {
		got, err := props.Int(tc.in, tc.lo)
		check(t, tc.in, got, err, tc.want, tc.wantErr)
	}
}

func TestBool(t *testing.T) {
	for _, tc := range []struct {
		in      any
		want    bool
		wantErr string
	}{
		{in: true, want: true},
		{in: false, want: false},
		{in: "true", want: true},
		{in: " FALSE ", want: false},
		{in: "1", want: true},
		// Go's t and f, which Spring's StringToBooleanConverter refuses.
		{in: "f", wantErr: `want true or false, got "f"`},
		{in: "T", wantErr: `want true or false, got "T"`},
		{in: " 0 ", want: false},
		// Spring's StringToBooleanConverter's words (an SCSt file's
		// autoCreateTopics=yes), in any case.
		{in: "yes", want: true},
		{in: " On", want: true},
		{in: "NO", want: false},
		{in: "off", want: false},
		{in: "maybe", wantErr: `want true or false, got "maybe"`},
		{in: "", wantErr: `want true or false, got ""`},
		{in: 1, wantErr: "want true or false, got int 1"},
		{in: nil, wantErr: "want true or false, got <nil>"},
	} {
		got, err := props.Bool(tc.in)
		check(t, tc.in, got, err, tc.want, tc.wantErr)
	}
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		in      any
		want    string
		wantErr string
	}{
		{in: "guest", want: "guest"},
		{in: " kept ", want: " kept "},
		{in: "", want: ""},
		{in: 42, want: "42"},
		{in: int64(-7), want: "-7"},
		{in: 1.5, want: "1.5"},
		{in: true, want: "true"},
		{in: time.Second, want: "1s"}, // a fmt.Stringer
		{in: []string{"a"}, wantErr: "want a string, got []string"},
		{in: nil, want: ""}, // "key:" with no value, as Spring binds it
		{in: map[string]any{"secret": "x"}, wantErr: "want a string, got map[string]interface {}"},
	} {
		got, err := props.String(tc.in)
		check(t, tc.in, got, err, tc.want, tc.wantErr)
	}
	// The value is never echoed.
	if _, err := props.String([]byte("s3cr3t")); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("String([]byte) error %v", err)
	}
}

func TestList(t *testing.T) {
	for _, tc := range []struct {
		in      any
		want    []string
		wantErr string
	}{
		{in: "a:1", want: []string{"a:1"}},
		{in: " a:1 , b:2,,", want: []string{"a:1", "b:2"}},
		{in: []string{"a", " b "}, want: []string{"a", "b"}},
		{in: []string{"a,b", "c"}, want: []string{"a", "b", "c"}},
		{in: []any{"a", "b,c"}, want: []string{"a", "b", "c"}},
		{in: []any{"a", 5672}, want: []string{"a", "5672"}},
		{in: "", want: nil},
		{in: " , ", want: nil},
		{in: []any{}, want: nil},
		{in: []any{"a", nil}, wantErr: "want a list of strings, got an element <nil>"},
		{in: []any{[]any{"a"}}, wantErr: "want a list of strings, got an element []interface {}"},
		{in: 5, wantErr: "want a comma-separated string or a list, got int"},
		{in: nil, want: nil}, // "key:" with no value
	} {
		got, err := props.List(tc.in)
		check(t, tc.in, got, err, tc.want, tc.wantErr)
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in        any
		allowZero bool
		want      time.Duration
		wantErr   string
	}{
		{in: "250ms", want: 250 * time.Millisecond},
		{in: " 1m30s ", want: 90 * time.Second},
		{in: "1500", want: 1500 * time.Millisecond}, // digits: milliseconds
		{in: 1500, want: 1500 * time.Millisecond},
		{in: int64(1500), want: 1500 * time.Millisecond},
		{in: 1500.0, want: 1500 * time.Millisecond},
		{in: json.Number("1500"), want: 1500 * time.Millisecond},
		{in: 2 * time.Second, want: 2 * time.Second},
		{in: 0, allowZero: true, want: 0},
		{in: "0s", allowZero: true, want: 0},
		{in: "0", allowZero: true, want: 0},

		{in: 0, wantErr: "must be positive, got 0s"},
		{in: "0s", wantErr: "must be positive, got 0s"},
		{in: -5, wantErr: "must be positive, got -5ms"},
		{in: "-1s", wantErr: "must be positive, got -1s"},
		{in: -5, allowZero: true, wantErr: "must not be negative, got -5ms"},
		{in: -time.Second, allowZero: true, wantErr: "must not be negative, got -1s"},
		{in: "soon", wantErr: `want a duration such as 250ms or 10s, or a number of milliseconds, got "soon"`},
		{in: "", wantErr: `want a duration such as 250ms or 10s, or a number of milliseconds, got ""`},
		{in: "1.5", wantErr: `got "1.5"`},
		{in: 1.5, wantErr: "want a duration such as 250ms or 10s, or a number of milliseconds, got float64 1.5"},
		{in: true, wantErr: "got bool true"},
		{in: nil, wantErr: "got <nil> <nil>"},
		{in: int64(math.MaxInt64), wantErr: "9223372036854775807 milliseconds is out of range"},
		{in: "9223372036854775", wantErr: "9223372036854775 milliseconds is out of range"},
		{in: uint64(math.MaxUint64), wantErr: "18446744073709551615 milliseconds is out of range"},
		{in: 1e300, wantErr: "milliseconds is out of range"},
	} {
		got, err := props.Duration(tc.in, tc.allowZero)
		check(t, tc.in, got, err, tc.want, tc.wantErr)
	}
	// The largest number of milliseconds a time.Duration holds is accepted.
	const maxMillis = math.MaxInt64 / int64(time.Millisecond)
	if got, err := props.Duration(maxMillis, false); err != nil || got != time.Duration(maxMillis)*time.Millisecond {
		t.Errorf("Duration(maxMillis) = %v, %v", got, err)
	}
}

func TestMap(t *testing.T) {
	m := map[string]any{"enabled": true}
	for _, tc := range []struct {
		in      any
		want    map[string]any
		wantErr string
	}{
		{in: m, want: m},
		{in: nil, want: nil},
		{in: map[string]any{}, want: map[string]any{}},
		{in: true, wantErr: "want a map, got bool"},
		{in: map[any]any{"a": 1}, wantErr: "want a map, got map[interface {}]interface {}"},
	} {
		got, err := props.Map(tc.in)
		check(t, tc.in, got, err, tc.want, tc.wantErr)
	}
}

func TestPaths(t *testing.T) {
	for _, tc := range []struct {
		s        stream.BinderSettings
		typ      string
		wantPath [2]string
	}{
		{s: stream.BinderSettings{Name: "k", Type: "kafka"}, typ: "kafka",
			wantPath: [2]string{"stream.kafka.binder", "stream.binders.k.environment"}},
		{s: stream.BinderSettings{Name: "k2", Type: "kafka"}, typ: "ignored",
			wantPath: [2]string{"stream.kafka.binder", "stream.binders.k2.environment"}},
		{s: stream.BinderSettings{}, typ: "memory",
			wantPath: [2]string{"stream.memory.binder", "environment"}},
	} {
		tc.s.Binder = map[string]any{"b": 1}
		tc.s.Environment = map[string]any{"e": 1}
		src := props.BinderSources(tc.s, tc.typ)
		if len(src) != 2 || src[0].Path != tc.wantPath[0] || src[1].Path != tc.wantPath[1] ||
			src[0].Map["b"] != 1 || src[1].Map["e"] != 1 {
			t.Errorf("BinderSources(%+v, %q) = %+v, want paths %q", tc.s, tc.typ, src, tc.wantPath)
		}
		if got := props.EnvironmentPath(tc.s); got != tc.wantPath[1] {
			t.Errorf("EnvironmentPath = %q, want %q", got, tc.wantPath[1])
		}
	}
	if got := props.BindingPath("rabbit", "x-in-0", "consumer"); got != "stream.rabbit.bindings.x-in-0.consumer" {
		t.Errorf("BindingPath = %q", got)
	}
}

// TestSettingPath: a message names the key that set a binder setting, or,
// for one left at its default, the binder's environment when the binder
// is declared under stream.binders (with an environment or a name of its
// own), not stream.<type>.binder, which such a binder's environment
// overrides (and which it does not read with inherit-environment false).
func TestSettingPath(t *testing.T) {
	env := map[string]any{"brokers": "h:9092"}
	for _, tc := range []struct {
		s        stream.BinderSettings
		at, want string
	}{
		{stream.BinderSettings{Name: "kafka", Type: "kafka"}, "", "stream.kafka.binder.auto-add-partitions"},
		{stream.BinderSettings{}, "", "stream.kafka.binder.auto-add-partitions"},
		{stream.BinderSettings{Name: "Kafka", Type: "kafka", Binder: env}, "", "stream.kafka.binder.auto-add-partitions"},
		{stream.BinderSettings{Name: "k1", Type: "kafka"}, "", "stream.binders.k1.environment.auto-add-partitions"},
		{stream.BinderSettings{Name: "kafka", Type: "kafka", Environment: env}, "", "stream.binders.kafka.environment.auto-add-partitions"},
		{stream.BinderSettings{Environment: env}, "", "environment.auto-add-partitions"},
		{stream.BinderSettings{Name: "k1", Type: "kafka", Environment: env},
			"stream.binders.k1.environment.spring.cloud.stream.kafka.binder.autoAddPartitions",
			"stream.binders.k1.environment.spring.cloud.stream.kafka.binder.autoAddPartitions"},
		{stream.BinderSettings{Name: "k1", Type: "kafka", Environment: env}, "stream.kafka.binder.auto-add-partitions", "stream.kafka.binder.auto-add-partitions"},
	} {
		if got := props.SettingPath(tc.s, "kafka", "auto-add-partitions", tc.at); got != tc.want {
			t.Errorf("SettingPath(%+v, %q) = %q, want %q", tc.s, tc.at, got, tc.want)
		}
	}
}

func TestUnknownKey(t *testing.T) {
	if got := props.UnknownKey("known: a, b").Error(); got != "unknown key (known: a, b)" {
		t.Errorf("UnknownKey(hint) = %q", got)
	}
	if got := props.UnknownKey("").Error(); got != "unknown key" {
		t.Errorf("UnknownKey(\"\") = %q", got)
	}
}

func TestSuggest(t *testing.T) {
	// The config loader's cases (config.suggest): the same rule.
	keys := []string{"concurrency", "max-attempts", "dlq", "back-off-multiplier"}
	for in, want := range map[string]string{
		"max-attemps":        "max-attempts",
		"maxAttempt":         "max-attempts",
		"concurency":         "concurrency",
		"dlz":                "dlq",
		"backoff-multiplyer": "back-off-multiplier",
		"colour":             "",
		"x":                  "",
		"max_attempts":       "", // the key itself, written otherwise
	} {
		if got := props.Suggest(in, keys); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
	if got := props.Suggest("abc", nil); got != "" {
		t.Errorf("Suggest with no keys = %q", got)
	}
}

// TestUnknownKeySuggestion: the error of UnknownKey returned to
// Decoder.Each names the key meant, from the keys its hint lists in each
// of the forms the binders write.
func TestUnknownKeySuggestion(t *testing.T) {
	for _, tc := range []struct {
		key, hint, want string
	}{
		{"min-partiton-count", "known: brokers, min-partition-count, replication-factor",
			"unknown key; did you mean min-partition-count? (known: brokers, min-partition-count, replication-factor)"},
		{"minPartitonCount", "known: brokers, min-partition-count",
			"unknown key; did you mean min-partition-count? (known: brokers, min-partition-count)"},
		{"prefech", "rabbit consumer properties: prefetch, requeue-rejected; exchange-type, quorum (enabled, delivery-limit)",
			"unknown key; did you mean prefetch? (rabbit consumer properties: prefetch, requeue-rejected; exchange-type, quorum (enabled, delivery-limit))"},
		{"max-deliveris", "known: ack-wait, max-deliver (or max-deliveries), prefetch",
			"unknown key; did you mean max-deliveries? (known: ack-wait, max-deliver (or max-deliveries), prefetch)"},
		{"delivery-limt", "quorum accepts enabled, delivery-limit, initial-group-size",
			"unknown key; did you mean delivery-limit? (quorum accepts enabled, delivery-limit, initial-group-size)"},
		{"batch-sise", "the memory binder accepts buffer-size and batch-size",
			"unknown key; did you mean batch-size? (the memory binder accepts buffer-size and batch-size)"},
		{"bogus", "known: brokers, min-partition-count", "unknown key (known: brokers, min-partition-count)"},
		{"prefetch", "the memory binder has no binding properties", "unknown key (the memory binder has no binding properties)"},
		{"handshake-first", "known: enabled, ca-file, handshake-first", "unknown key (known: enabled, ca-file, handshake-first)"},
		{"ca-fil", "", "unknown key"},
	} {
		var d props.Decoder
		d.Each("stream.x.binder", map[string]any{tc.key: 1}, func(string, string, any) error {
			return props.UnknownKey(tc.hint)
		})
		var ces stream.ConfigErrors
		if !errors.As(d.Err(), &ces) || len(ces) != 1 {
			t.Fatalf("%s: Err() = %v, want one problem", tc.key, d.Err())
		}
		if ces[0].Path != "stream.x.binder."+tc.key || ces[0].Msg != tc.want {
			t.Errorf("%s: got %s: %q, want %q", tc.key, ces[0].Path, ces[0].Msg, tc.want)
		}
	}
	// A wrapped error is the caller's own: left as it is.
	var d props.Decoder
	d.Each("p", map[string]any{"prefech": 1}, func(string, string, any) error {
		return fmt.Errorf("consumer: %w", props.UnknownKey("known: prefetch"))
	})
	if err := d.Err(); err == nil || !strings.HasSuffix(err.Error(), "p.prefech: consumer: unknown key (known: prefetch)") {
		t.Errorf("wrapped: %v", err)
	}
}

func TestDecoder(t *testing.T) {
	var d props.Decoder
	if err := d.Err(); err != nil {
		t.Fatalf("zero Decoder: %v", err)
	}
	var size int
	var seen []string
	d.Each("stream.x.binder", map[string]any{
		"Buffer-Size": "8",
		"zeta":        1,
		"bogus":       true,
		"tls":         map[string]any{"ca-fil": "x", "enabled": "maybe"},
		"count":       "many",
	}, func(k, p string, v any) (err error) {
		seen = append(seen, k)
		switch k {
		case "buffersize":
			size, err = props.Int(v, 1)
		case "zeta":
		case "count":
			_, err = props.Int(v, 1)
		case "tls":
			m, err := props.Map(v)
			if err != nil {
				return err
			}
			d.Each(p, m, func(k, _ string, v any) (err error) {
				if k == "enabled" {
					_, err = props.Bool(v)
					return err
				}
				return props.UnknownKey("")
			})
		default:
			err = props.UnknownKey("known: buffer-size")
		}
		return err
	})
	d.Each("nothing", nil, func(string, string, any) error {
		t.Error("Each called f for a nil map")
		return nil
	})
	d.Add("ignored", nil)
	d.Addf("stream.x.binder", "set %s or %s, not both", "a", "b")

	if size != 8 {
		t.Errorf("buffer-size = %d, want 8", size)
	}
	if want := []string{"buffersize", "bogus", "count", "tls", "zeta"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("keys seen %q, want sorted and normalised %q", seen, want)
	}
	err := d.Err()
	var ces stream.ConfigErrors
	if !errors.As(err, &ces) {
		t.Fatalf("Err() = %T %v, want stream.ConfigErrors", err, err)
	}
	want := []stream.ConfigError{
		{Path: "stream.x.binder.bogus", Msg: "unknown key (known: buffer-size)", UnknownKey: true},
		{Path: "stream.x.binder.count", Msg: `want a whole number, got "many"`},
		{Path: "stream.x.binder.tls.ca-fil", Msg: "unknown key", UnknownKey: true},
		{Path: "stream.x.binder.tls.enabled", Msg: `want true or false, got "maybe"`},
		{Path: "stream.x.binder", Msg: "set a or b, not both"},
	}
	if len(ces) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ces), len(want), err)
	}
	for i, w := range want {
		if *ces[i] != w {
			t.Errorf("problem %d = %+v, want %+v", i, *ces[i], w)
		}
	}
}

func ExampleDecoder() {
	settings := map[string]any{"buffer-size": 16, "linger": "soon", "brokers": "a:9092, b:9092"}
	var (
		d       props.Decoder
		size    int
		linger  time.Duration
		brokers []string
	)
	d.Each("stream.binders.x.environment", settings, func(k, _ string, v any) (err error) {
		switch k {
		case "buffersize":
			size, err = props.Int(v, 1)
		case "linger":
			linger, err = props.Duration(v, true)
		case "brokers":
			brokers, err = props.List(v)
		default:
			err = props.UnknownKey("known: buffer-size, linger, brokers")
		}
		return err
	})
	fmt.Println(size, linger, brokers)
	fmt.Println(d.Err())
	// Output:
	// 16 0s [a:9092 b:9092]
	// invalid configuration (1 problem):
	//   - stream.binders.x.environment.linger: want a duration such as 250ms or 10s, or a number of milliseconds, got "soon"
}

// TestSpringDuration: the forms of Spring Boot's Duration conversion that
// Go's durations lack (spring.rabbitmq.connection-timeout: PT10S).
func TestSpringDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT10S":   10 * time.Second,
		"pt0.5s":  500 * time.Millisecond,
		"PT1M30S": 90 * time.Second,
		"P1DT2H":  26 * time.Hour,
		"PT-1.5S": -1500 * time.Millisecond,
		"-PT2M":   -2 * time.Minute,
		"2d":      48 * time.Hour,
	} {
		got, err := props.Duration(in, true)
		if in[0] == '-' || in == "PT-1.5S" {
			if err == nil || !strings.Contains(err.Error(), "must not be negative") {
				t.Errorf("Duration(%q) = %v, %v; want the negative refusal", in, got, err)
			}
			if d, ok := props.SpringDuration(in); !ok || d != want {
				t.Errorf("SpringDuration(%q) = %v, %v; want %v", in, d, ok, want)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("Duration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"P", "PT", "P1DT", "PT1X", "1 d", "P1W", "PT99999999999999H"} {
		if d, ok := props.SpringDuration(in); ok {
			t.Errorf("SpringDuration(%q) = %v, want not a duration", in, d)
		}
	}
}

func TestEnumName(t *testing.T) {
	for in, want := range map[string]string{
		"EMBEDDED_HEADERS": "embeddedheaders", "embedded-headers": "embeddedheaders", "embeddedHeaders": "embeddedheaders",
		" None ": "none", "COUNT_TIME": "counttime", "x.y": "xy",
	} {
		if got := props.EnumName(in); got != want {
			t.Errorf("EnumName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSize: sizes in bytes as numbers or as Spring DataSize texts (powers
// of 1024), bounded as Int bounds them.
func TestSize(t *testing.T) {
	for _, tc := range []struct {
		in      any
		lo      int
		want    int
		wantErr string
	}{
		{in: 16384, lo: 1, want: 16384},
		{in: "16384", lo: 1, want: 16384},
		{in: "16KB", lo: 1, want: 16 << 10},
		{in: " 1MB ", lo: 1, want: 1 << 20},
		{in: "1mb", lo: 1, want: 1 << 20},
		{in: "512B", lo: 1, want: 512},
		{in: "1GB", lo: 1, want: 1 << 30},
		{in: "2GB", lo: 1, wantErr: "must be at most 2147483647 bytes, got 2GB"},
		{in: "1KB", lo: 1024, want: 1024},
		{in: "1000B", lo: 1024, wantErr: "must be at least 1024 bytes, got 1000B"},
		{in: "1.5MB", lo: 1, wantErr: `want a size such as 16384, 16KB or 1MB, got "1.5MB"`},
		{in: "10 parsecs", lo: 1, wantErr: "want a size such as 16384, 16KB or 1MB"},
		{in: 0, lo: 1, wantErr: "must be at least 1, got 0"},
	} {
		got, err := props.Size(tc.in, tc.lo)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Size(%#v, %d) = %d, %v; want error %q", tc.in, tc.lo, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("Size(%#v, %d) = %d, %v; want %d", tc.in, tc.lo, got, err, tc.want)
		}
	}
	if n, err := props.Int64("10737418240", 1); err != nil || n != 10<<30 {
		t.Errorf("Int64 of 10 GiB: %d, %v", n, err)
	}
}
