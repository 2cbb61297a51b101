package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"
)

// Expression is a compiled expression in the subset of Spring's SpEL that
// Spring Cloud Stream configurations use (partition-key-expression,
// partition-selector-expression, routing-expression); see
// docs/conventions.md, "Expressions". It is compiled once, at start-up, by
// github.com/expr-lang/expr after a small translation, and is safe for
// concurrent use.
//
// Supported: property access (payload.a.b, headers.x, safe navigation
// payload?.a), indexing (payload['a'], headers['x'], payload.items[0]),
// string ('single' or "double" quoted, quotes doubled to escape), numeric
// (SpEL's: 42, 42L, 0x2A, 1.5, 1.5d, 1.5f, 1e3), boolean and null literals, + - * / %, the comparisons == != < >
// <= >= (and SpEL's eq ne lt gt le ge div mod), && || ! (and, or, not),
// the ternary a ? b : c, the Elvis operator a ?: b, and the methods
// toString() and hashCode() (Java's results). Everything else — type
// references T(...), #variables, bean references @x, constructors (new),
// other method calls, selection and projection, inline lists and maps,
// assignment, matches, instanceof, between, power — is refused when the
// expression is compiled, with an error that quotes the expression and
// names the unsupported part.
type Expression struct {
	src  string
	prog *vm.Program
	// vms keeps machines for reuse: a run allocates its stack otherwise.
	vms sync.Pool
	// usesPayload: the expression reads payload (routing decodes it only
	// then).
	usesPayload bool
	// usesHeaders: the expression reads headers.
	usesHeaders bool
	// constant: the expression reads no variable (a routing-expression
	// naming one function, checked at start-up).
	constant bool
	// usesReceivedKey: the expression names SCSt's
	// kafka_receivedMessageKey header, which streambind carries as the
	// message's key (inputHeaders adds it).
	usesReceivedKey bool
	// received: the received headers (receivedHeaders) the expression
	// names, one bit each; inputHeaders adds them.
	received uint16
}

// HeaderReceivedMessageKey is Spring Kafka's name for the key a message
// arrived with (KafkaHeaders.RECEIVED_KEY). streambind carries the key as
// the message's key ([Envelope].Key, [Message].Key), not as a header; an
// expression over an input's headers (routing-expression, an idempotency
// key-expression) that names it reads the key, as an SCSt configuration
// expects. The key wins over a header of that name the message carries,
// as the record's key does in Spring Kafka (which sets RECEIVED_KEY after
// mapping the record's headers); a message without a key shows the
// header, null without one. No binder sends the key in that header (the
// RabbitMQ and NATS binders carry it in x-streambind-key, Redis in its
// key field): such a header is another producer's.
const HeaderReceivedMessageKey = "kafka_receivedMessageKey"

// Spring Cloud Stream's received headers (Spring Kafka's KafkaHeaders,
// Spring AMQP's AmqpHeaders). streambind does not add them to a message's
// headers: it carries them as the message's [Received], and an expression
// over an input's headers (routing-expression, an idempotency
// key-expression) that names one reads it from there, as an SCSt
// configuration expects.
//
// The kafka_* names are read on every binder, from the binder's
// destination, partition, offset and time (see [Received]): a
// routing-expression on headers['kafka_receivedTopic'] keeps working after
// a switch from Kafka to another binder. The amqp_* names are read on
// messages received from RabbitMQ only (null elsewhere: the other brokers
// have no exchange, routing key or queue).
//
// Their values are text, as every header here, and read as numbers
// (partition, offset, timestamp) and booleans (redelivered) where the
// expression compares them with one: headers['kafka_receivedPartitionId']
// == 0 is SCSt's form (an Integer), == '0' works too. A header of one of
// the kafka_* names or amqp_consumerQueue that the message itself carries
// is not what the expression sees: the binder's received value wins, as
// in SCSt, whose binders set them over the message's headers (the
// message's own headers are not changed). A header amqp_receivedExchange,
// amqp_receivedRoutingKey or amqp_redelivered that the message carries
// wins over the binder's value, as in Spring AMQP's inbound mapper
// (DefaultAmqpHeaderMapper), which maps the message's own headers over
// those three. When the binder does not tell the value (no partition on a
// consumer that is not partitioned, say) the expression sees the message's
// own header of that name, null without one.
const (
	// HeaderReceivedTopic is the destination the message was read from
	// (KafkaHeaders.RECEIVED_TOPIC): [Received].Destination.
	HeaderReceivedTopic = "kafka_receivedTopic"
	// HeaderReceivedPartition is the partition the message was read from
	// (KafkaHeaders.RECEIVED_PARTITION, an Integer): [Received].Partition.
	HeaderReceivedPartition = "kafka_receivedPartitionId"
	// HeaderReceivedOffset is the message's offset (KafkaHeaders.OFFSET, a
	// Long): [Received].Offset (the JetStream stream sequence, the
	// in-process sequence).
	HeaderReceivedOffset = "kafka_offset"
	// HeaderReceivedTimestamp is the message's time in Unix milliseconds
	// (KafkaHeaders.RECEIVED_TIMESTAMP, a Long): [Received].Timestamp.
	HeaderReceivedTimestamp = "kafka_receivedTimestamp"
	// HeaderReceivedExchange is the RabbitMQ exchange the message was
	// published to (AmqpHeaders.RECEIVED_EXCHANGE): [Received].Exchange.
	HeaderReceivedExchange = "amqp_receivedExchange"
	// HeaderReceivedRoutingKey is the RabbitMQ message's routing key
	// (AmqpHeaders.RECEIVED_ROUTING_KEY): [Received].RoutingKey.
	HeaderReceivedRoutingKey = "amqp_receivedRoutingKey"
	// HeaderConsumerQueue is the RabbitMQ queue the message was consumed
	// from (AmqpHeaders.CONSUMER_QUEUE): [Received].Queue.
	HeaderConsumerQueue = "amqp_consumerQueue"
	// HeaderRedelivered is RabbitMQ's redelivered flag
	// (AmqpHeaders.REDELIVERED, a Boolean): [Received].Redelivered.
	HeaderRedelivered = "amqp_redelivered"
)

// receivedHeaders are the received headers an expression can name, with
// their values of a Received (ok false: null).
var receivedHeaders = [...]struct {
	name  string
	value func(r *Received) (string, bool)
	// messageWins: a header of that name the message carries wins over
	// the binder's value, as in Spring AMQP's inbound mapper
	// (DefaultAmqpHeaderMapper maps the received exchange, routing key
	// and redelivered flag first, then the message's own headers over
	// them; the consumer queue it adds after).
	messageWins bool
}{
	{HeaderReceivedTopic, func(r *Received) (string, bool) { return r.Destination, r.Destination != "" }, false},
	{HeaderReceivedPartition, func(r *Received) (string, bool) { return strconv.Itoa(r.Partition), r.HasPartition }, false},
	{HeaderReceivedOffset, func(r *Received) (string, bool) { return strconv.FormatInt(r.Offset, 10), r.HasOffset }, false},
	{HeaderReceivedTimestamp, func(r *Received) (string, bool) {
		return strconv.FormatInt(r.Timestamp.UnixMilli(), 10), !r.Timestamp.IsZero()
	}, false},
	{HeaderReceivedExchange, func(r *Received) (string, bool) { return r.Exchange, r.fromRabbit() }, true},
	{HeaderReceivedRoutingKey, func(r *Received) (string, bool) { return r.RoutingKey, r.fromRabbit() }, true},
	{HeaderConsumerQueue, func(r *Received) (string, bool) { return r.Queue, r.fromRabbit() }, false},
	{HeaderRedelivered, func(r *Received) (string, bool) { return strconv.FormatBool(r.Redelivered), r.fromRabbit() }, true},
}

// fromRabbit reports whether r is of a message received from RabbitMQ,
// which has the amqp_* headers: the RabbitMQ binder always sets Queue; a
// test (streamtest) that simulates a RabbitMQ message may give only its
// exchange or routing key.
func (r *Received) fromRabbit() bool {
	return r.Queue != "" || r.Exchange != "" || r.RoutingKey != ""
}

// receivedIn returns the bits of the received headers src names.
func receivedIn(src string) uint16 {
	var bits uint16
	for i, h := range receivedHeaders {
		if strings.Contains(src, h.name) {
			bits |= 1 << i
		}
	}
	return bits
}

// inputHeaders are the headers an expression sees of an input message:
// env's own, plus kafka_receivedMessageKey (the message's key) when the
// expression names it and the message has a key, over a header of that
// name the message carries (as Spring Kafka sets RECEIVED_KEY from the
// record's key over the record's headers; without a key, the header
// stays); plus the received headers the expression names
// (receivedHeaders) that the binder tells, over the message's own of
// those names (but those a message's own header wins over: messageWins).
// The message's headers are not changed: when it adds any, it adds them
// to a copy.
func (e *Expression) inputHeaders(env Envelope) Headers {
	return receivedView(env, e.usesReceivedKey, e.received)
}

// receivedView is inputHeaders for an expression that names
// kafka_receivedMessageKey when usesKey and the received headers of
// received, or for several expressions (the union of theirs).
func receivedView(env Envelope, usesKey bool, received uint16) Headers {
	addKey := usesKey && len(env.Key) > 0
	if !addKey && received == 0 {
		return env.Headers
	}
	var h Headers // the copy, made at the first header added
	add := func(k, v string) {
		if h == nil {
			h = make(Headers, len(env.Headers)+2)
			for k, v := range env.Headers {
				h[k] = v
			}
		}
		h[k] = v
	}
	if addKey {
		add(HeaderReceivedMessageKey, string(env.Key))
	}
	for i := range receivedHeaders {
		if received&(1<<i) == 0 {
			continue
		}
		if receivedHeaders[i].messageWins {
			if _, own := env.Headers[receivedHeaders[i].name]; own {
				continue
			}
		}
		if v, ok := receivedHeaders[i].value(&env.Received); ok {
			add(receivedHeaders[i].name, v)
		}
	}
	if h == nil {
		return env.Headers
	}
	return h
}

// String returns the expression as written.
func (e *Expression) String() string { return e.src }

// exprSupported summarises the subset for error messages.
const exprSupported = "supported: payload/headers property and index access, literals, + - * / %, comparisons, and/or/not, ?:, toString(), hashCode()"

// CompileExpression compiles a SpEL-subset expression whose root object
// offers the given variables (e.g. "payload", "headers"). root, when not
// empty, names the variable that bare method calls apply to ("hashCode()"
// on the key of a partition-selector-expression).
func CompileExpression(src string, root string, vars ...string) (*Expression, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("expression %q: %s", src, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(src) == "" {
		return nil, fail("is empty")
	}
	translated, err := translateSpEL(src)
	if err != nil {
		return nil, fail("%v (%s)", err, exprSupported)
	}
	cfg := conf.CreateNew()
	env := map[string]any{}
	for _, v := range vars {
		env[v] = nil
	}
	opts := []expr.Option{expr.Env(env), expr.DisableAllBuiltins()}
	for name, fn := range exprFuncs {
		opts = append(opts, expr.Function(name, fn))
	}
	for _, o := range opts {
		o(cfg)
	}
	for name := range cfg.Disabled {
		delete(cfg.Builtins, name)
	}
	cfg.Check()
	tree, err := parser.ParseWithConfig(translated, cfg)
	if err != nil {
		return nil, fail("cannot parse: %s", firstLine(err.Error()))
	}
	rw := exprRewriter{vars: map[string]bool{}, root: root}
	for _, v := range vars {
		rw.vars[v] = true
	}
	if err := rw.rewrite(&tree.Node); err != nil {
		return nil, fail("%v (%s)", err, exprSupported)
	}
	if _, err := checker.Check(tree, cfg); err != nil {
		return nil, fail("%s", firstLine(err.Error()))
	}
	prog, err := compiler.Compile(tree, cfg)
	if err != nil {
		return nil, fail("%s", firstLine(err.Error()))
	}
	x := &Expression{src: src, prog: prog, usesPayload: rw.used["payload"], usesHeaders: rw.used["headers"], constant: len(rw.used) == 0}
	if rw.used["headers"] {
		x.usesReceivedKey = strings.Contains(src, HeaderReceivedMessageKey)
		x.received = receivedIn(src)
	}
	return x, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Eval evaluates the expression with the given variables. Numbers come
// back as int (integral) or float64.
func (e *Expression) Eval(env map[string]any) (any, error) {
	m, _ := e.vms.Get().(*vm.VM)
	if m == nil {
		m = &vm.VM{}
	}
	v, err := m.Run(e.prog, env)
	e.vms.Put(m)
	if err != nil {
		msg := firstLine(err.Error())
		// The VM's % by zero is Go's runtime panic, recovered: said as
		// exprDiv says it for /.
		msg = strings.Replace(msg, "runtime error: integer divide by zero", "division by zero", 1)
		return nil, &evalError{msg: fmt.Sprintf("expression %q: %s", e.src, msg), err: err}
	}
	return normalizeNumber(v), nil
}

// evalError is an evaluation's failure: its text is the expression's and
// the first line of the VM's, and it wraps the VM's error, which wraps
// the error a property access or function returned (a payload that is
// not JSON: partitionKeyHint).
type evalError struct {
	msg string
	err error
}

func (e *evalError) Error() string { return e.msg }
func (e *evalError) Unwrap() error { return e.err }

// spelWordOps are SpEL's textual operators.
var spelWordOps = map[string]string{"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%"}

// spelRefused are SpEL words outside the subset, with what they are.
var spelRefused = map[string]string{
	"new":        "constructor call (new)",
	"matches":    "operator matches",
	"instanceof": "operator instanceof",
	"between":    "operator between",
}

// translateSpEL rewrites SpEL's lexical forms into expr's: string literals
// (SpEL doubles a quote to escape it and has no backslash escapes), null,
// the textual operators and Elvis (?: becomes ??, given SpEL's meaning by
// the rewriter), and refuses what has no place in the subset.
func translateSpEL(s string) (string, error) {
	var b strings.Builder
	rs := []rune(s)
	prevSig := rune(0) // last non-space rune written
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\'' || r == '"':
			var lit strings.Builder
			j := i + 1
			closed := false
			for j < len(rs) {
				if rs[j] == r {
					if j+1 < len(rs) && rs[j+1] == r {
						lit.WriteRune(r)
						j += 2
						continue
					}
					closed = true
					break
				}
				lit.WriteRune(rs[j])
				j++
			}
			if !closed {
				return "", errors.New("unterminated string literal")
			}
			b.WriteString(strconv.Quote(lit.String()))
			i = j
			prevSig = '"'
			continue
		case r == '_' || r == '$' || unicode.IsLetter(r):
			j := i
			for j < len(rs) && (rs[j] == '_' || rs[j] == '$' || unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])) {
				j++
			}
			word := string(rs[i:j])
			if prevSig != '.' {
				next := j
				for next < len(rs) && unicode.IsSpace(rs[next]) {
					next++
				}
				switch {
				case word == "T" && next < len(rs) && rs[next] == '(':
					return "", errors.New("type reference T(...) is not supported")
				case spelRefused[word] != "":
					return "", fmt.Errorf("%s is not supported", spelRefused[word])
				case word == "null":
					word = "nil"
				case spelWordOps[word] != "":
					word = " " + spelWordOps[word] + " "
				}
			}
			b.WriteString(word)
			i = j - 1
			prevSig = 'a'
			continue
		case r < utf8.RuneSelf && isDigit(byte(r)):
			lit, j, err := spelNumber(rs, i)
			if err != nil {
				return "", err
			}
			if j < len(rs) && rs[j] == '.' {
				lit = "(" + lit + ")" // 3.toString(): expr would read "3." as a number
			}
			b.WriteString(lit)
			i = j - 1
			prevSig = '0'
			continue
		case r == '.' && i+1 < len(rs) && rs[i+1] < utf8.RuneSelf && isDigit(byte(rs[i+1])):
			j := i + 1
			for j < len(rs) && (isWordRune(rs[j]) || rs[j] == '.') {
				j++
			}
			return "", fmt.Errorf("numeric literal %s is not supported: a SpEL real has a digit before its point (0.5) (%s)", string(rs[i:j]), spelNumberForms)
		case r == '#':
			j := i + 1
			for j < len(rs) && (rs[j] == '_' || unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])) {
				j++
			}
			return "", fmt.Errorf("variable reference %s is not supported", string(rs[i:j]))
		case r == '@' || (r == '&' && (i+1 >= len(rs) || rs[i+1] != '&') && (i == 0 || rs[i-1] != '&')):
			return "", fmt.Errorf("bean reference %c... is not supported", r)
		case r == '{' || r == '}':
			return "", errors.New("inline list or map {...} is not supported")
		case r == '[' && i > 1 && rs[i-1] == '!' && rs[i-2] == '.':
			return "", errors.New("collection projection .![...] is not supported")
		case r == '[' && i > 0 && (rs[i-1] == '?' || rs[i-1] == '^' || rs[i-1] == '$'):
			return "", fmt.Errorf("collection selection or projection %c[...] is not supported", rs[i-1])
		case r == '?' && i+1 < len(rs) && rs[i+1] == ':':
			b.WriteString("??")
			i++
			prevSig = '?'
			continue
		case r == '=':
			prev := rune(0)
			if i > 0 {
				prev = rs[i-1]
			}
			next := rune(0)
			if i+1 < len(rs) {
				next = rs[i+1]
			}
			if next == '=' {
				b.WriteString("==")
				i++
				prevSig = '='
				continue
			}
			if prev != '!' && prev != '<' && prev != '>' {
				return "", errors.New("assignment (=) is not supported")
			}
		case r == '^' && (i+1 >= len(rs) || rs[i+1] != '['):
			return "", errors.New("power operator ^ is not supported")
		}
		b.WriteRune(r)
		if !unicode.IsSpace(r) {
			prevSig = r
		}
	}
	return b.String(), nil
}

// spelNumberForms lists SpEL's numeric literals for error messages.
const spelNumberForms = "SpEL's numbers: 42, 42L, 0x2A, 0x2AL, 1.5, 1.5d, 1.5f, 1e3, 1.5E-3"

func isWordRune(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// spelNumber reads the numeric literal that starts at rs[i] (an ASCII
// digit) as SpEL's tokenizer does, and returns it in expr's terms with
// SpEL's value: an integer (int, or long with the suffix L or l; decimal,
// or hexadecimal after 0x or 0X) as a decimal integer, a real (with a
// fraction 1.5, an exponent 1e3 or 1.5E-3, or the suffix d, D, f or F) as
// a float in exponent form, which expr reads as a float (1e+03), whatever
// its value. A float (f, F) has a Java float's value (0.1f is
// 0.100000001490116…, not equal to 0.1, as in SpEL) and computes as a
// double. j is the index after the literal.
//
// An integer without L beyond a Java int (2147483648, 0x80000000) is read
// as the long it is, where SpEL refuses it (it asks for the L). What is
// not SpEL is refused, named: an L on a real (1.5L), digits that do not
// end the literal (1_000, 0b101, 0o17, 42u), an exponent without digits,
// an integer beyond a long, a real beyond a double.
func spelNumber(rs []rune, i int) (lit string, j int, err error) {
	start := i
	// whole is the literal and what sticks to it, for an error.
	whole := func(end int) string {
		for end < len(rs) && (isWordRune(rs[end]) || (rs[end] == '.' && end+1 < len(rs) && rs[end+1] < utf8.RuneSelf && isDigit(byte(rs[end+1])))) {
			end++
		}
		return string(rs[start:end])
	}
	notSpEL := func(end int) error {
		return fmt.Errorf("numeric literal %s is not supported (%s)", whole(end), spelNumberForms)
	}
	ended := func(end int) bool { return end >= len(rs) || !isWordRune(rs[end]) }
	isLong := func(end int) bool { return end < len(rs) && (rs[end] == 'L' || rs[end] == 'l') }
	if rs[i] == '0' && i+1 < len(rs) && (rs[i+1] == 'x' || rs[i+1] == 'X') {
		j = i + 2
		for j < len(rs) && rs[j] < utf8.RuneSelf && (isDigit(byte(rs[j])) || strings.ContainsRune("abcdefABCDEF", rs[j])) {
			j++
		}
		digits := string(rs[i+2 : j])
		if isLong(j) {
			j++
		}
		if digits == "" || !ended(j) {
			return "", j, notSpEL(j)
		}
		v, perr := strconv.ParseInt(digits, 16, 64)
		if perr != nil {
			return "", j, fmt.Errorf("numeric literal %s is beyond a long", string(rs[start:j]))
		}
		return strconv.FormatInt(v, 10), j, nil
	}
	j = i
	for j < len(rs) && rs[j] < utf8.RuneSelf && isDigit(byte(rs[j])) {
		j++
	}
	real := false
	if j+1 < len(rs) && rs[j] == '.' && rs[j+1] < utf8.RuneSelf && isDigit(byte(rs[j+1])) {
		real = true
		j++
		for j < len(rs) && rs[j] < utf8.RuneSelf && isDigit(byte(rs[j])) {
			j++
		}
	}
	if isLong(j) {
		if real {
			return "", j + 1, fmt.Errorf("numeric literal %s is not supported: a real cannot be a long (%s)", whole(j+1), spelNumberForms)
		}
		digits := string(rs[start:j])
		j++
		if !ended(j) {
			return "", j, notSpEL(j)
		}
		v, perr := strconv.ParseInt(digits, 10, 64)
		if perr != nil {
			return "", j, fmt.Errorf("numeric literal %s is beyond a long", string(rs[start:j]))
		}
		return strconv.FormatInt(v, 10), j, nil
	}
	if j < len(rs) && (rs[j] == 'e' || rs[j] == 'E') {
		k := j + 1
		if k < len(rs) && (rs[k] == '+' || rs[k] == '-') {
			k++
		}
		d := k
		for k < len(rs) && rs[k] < utf8.RuneSelf && isDigit(byte(rs[k])) {
			k++
		}
		if k == d {
			return "", k, notSpEL(j)
		}
		real, j = true, k
	}
	num := string(rs[start:j])
	float := false
	if j < len(rs) && strings.ContainsRune("fFdD", rs[j]) {
		real, float = true, rs[j] == 'f' || rs[j] == 'F'
		j++
	}
	if !ended(j) {
		return "", j, notSpEL(j)
	}
	if !real {
		v, perr := strconv.ParseInt(num, 10, 64)
		if perr != nil {
			return "", j, fmt.Errorf("numeric literal %s is beyond a long", num)
		}
		return strconv.FormatInt(v, 10), j, nil
	}
	// Rounded once to the type's precision, as Double.parseDouble and
	// Float.parseFloat do; a value too small for it is 0 there too (the
	// error ParseFloat returns for it is no matter), one too large is
	// infinite, which SpEL takes and is refused here.
	bits, kind := 64, "double"
	if float {
		bits, kind = 32, "float"
	}
	f, _ := strconv.ParseFloat(num, bits)
	if math.IsInf(f, 0) {
		return "", j, fmt.Errorf("numeric literal %s is beyond a %s", string(rs[start:j]), kind)
	}
	return strconv.FormatFloat(f, 'e', -1, 64), j, nil
}

// exprRewriter checks the parsed tree against the subset and rewrites
// property access, division, + and ?: into calls of exprFuncs, which give
// them SpEL's meaning (field lookup by name or json tag, integer division,
// string concatenation, Elvis on null or empty).
type exprRewriter struct {
	vars map[string]bool
	root string
	used map[string]bool
}

var allowedBinary = map[string]bool{
	"==": true, "!=": true, "<": true, ">": true, "<=": true, ">=": true,
	"+": true, "-": true, "*": true, "/": true, "%": true,
	"&&": true, "||": true, "and": true, "or": true, "??": true,
}

func call(name string, args ...ast.Node) ast.Node {
	return &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: args}
}

func (w *exprRewriter) rewrite(n *ast.Node) error {
	switch x := (*n).(type) {
	case *ast.NilNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.StringNode:
		return nil
	case *ast.IdentifierNode:
		if !w.vars[x.Value] {
			return fmt.Errorf("unknown name %q (available: %s)", x.Value, strings.Join(sortedSet(w.vars), ", "))
		}
		if w.used == nil {
			w.used = map[string]bool{}
		}
		w.used[x.Value] = true
		return nil
	case *ast.UnaryNode:
		switch x.Operator {
		case "!", "not", "-", "+":
		default:
			return fmt.Errorf("operator %s is not supported", x.Operator)
		}
		isHeader := w.isHeader(x.Node)
		header := (x.Operator == "-" || x.Operator == "+") && isHeader
		if err := w.rewrite(&x.Node); err != nil {
			return err
		}
		switch {
		case header:
			// -headers.n: the header's number (numericHeader).
			ast.Patch(n, call("_sign", &ast.StringNode{Value: x.Operator}, x.Node))
		case isHeader:
			// !headers.flag: the header's boolean (boolHeader).
			x.Node = call("_bool", x.Node)
		}
		return nil
	case *ast.BinaryNode:
		if !allowedBinary[x.Operator] {
			return fmt.Errorf("operator %s is not supported", x.Operator)
		}
		// Whether each side reads a header directly, decided before the
		// sides are rewritten (numericHeader).
		lh, rh := w.isHeader(x.Left), w.isHeader(x.Right)
		if err := w.rewrite(&x.Left); err != nil {
			return err
		}
		if err := w.rewrite(&x.Right); err != nil {
			return err
		}
		flags := func() []ast.Node {
			return []ast.Node{x.Left, x.Right, &ast.BoolNode{Value: lh}, &ast.BoolNode{Value: rh}}
		}
		switch x.Operator {
		case "/":
			ast.Patch(n, call("_div", flags()...))
		case "-", "*", "%":
			ast.Patch(n, call("_arith", append([]ast.Node{&ast.StringNode{Value: x.Operator}}, flags()...)...))
		case "+":
			ast.Patch(n, call("_add", flags()...))
		case "<", ">", "<=", ">=":
			// Always: a null side orders (exprCmp), which expr's own
			// operators refuse.
			ast.Patch(n, call("_cmp", append([]ast.Node{&ast.StringNode{Value: x.Operator}}, flags()...)...))
		case "==", "!=":
			if lh || rh {
				ast.Patch(n, call("_cmp", append([]ast.Node{&ast.StringNode{Value: x.Operator}}, flags()...)...))
			}
		case "??":
			ast.Patch(n, call("_elvis", x.Left, x.Right))
		case "&&", "||", "and", "or":
			// headers.flag && ...: the header's boolean (boolHeader).
			if lh {
				x.Left = call("_bool", x.Left)
			}
			if rh {
				x.Right = call("_bool", x.Right)
			}
		}
		return nil
	case *ast.ConditionalNode:
		if !x.Ternary {
			return errors.New("if/else is not supported (use a ? b : c)")
		}
		condHeader := w.isHeader(x.Cond)
		for _, c := range []*ast.Node{&x.Cond, &x.Exp1, &x.Exp2} {
			if err := w.rewrite(c); err != nil {
				return err
			}
		}
		if condHeader {
			// headers.flag ? a : b: the header's boolean (boolHeader).
			x.Cond = call("_bool", x.Cond)
		}
		return nil
	case *ast.ChainNode:
		if err := w.rewrite(&x.Node); err != nil {
			return err
		}
		ast.Patch(n, x.Node)
		return nil
	case *ast.MemberNode:
		if x.Method {
			return errors.New("method reference without a call is not supported")
		}
		if err := w.rewrite(&x.Node); err != nil {
			return err
		}
		if err := w.rewrite(&x.Property); err != nil {
			return err
		}
		ast.Patch(n, call("_get", x.Node, x.Property, &ast.BoolNode{Value: x.Optional}))
		return nil
	case *ast.CallNode:
		var (
			target   ast.Node
			name     string
			optional bool
		)
		switch c := x.Callee.(type) {
		case *ast.MemberNode:
			p, ok := c.Property.(*ast.StringNode)
			if !ok {
				return errors.New("computed method call is not supported")
			}
			target, name, optional = c.Node, p.Value, c.Optional
		case *ast.IdentifierNode:
			name = c.Value
			if w.root == "" || (name != "toString" && name != "hashCode") {
				return fmt.Errorf("function call %s(...) is not supported", name)
			}
			target = &ast.IdentifierNode{Value: w.root}
		default:
			return errors.New("call of a computed value is not supported")
		}
		if name != "toString" && name != "hashCode" {
			return fmt.Errorf("method %s() is not supported (only toString() and hashCode())", name)
		}
		if len(x.Arguments) != 0 {
			return fmt.Errorf("method %s() takes no arguments", name)
		}
		if err := w.rewrite(&target); err != nil {
			return err
		}
		ast.Patch(n, call("_"+name, target, &ast.BoolNode{Value: optional}))
		return nil
	case *ast.BuiltinNode:
		return fmt.Errorf("function %s(...) is not supported", x.Name)
	case *ast.ArrayNode, *ast.MapNode:
		return errors.New("inline list or map is not supported")
	case *ast.SliceNode:
		return errors.New("slice [a:b] is not supported")
	case *ast.PredicateNode, *ast.PointerNode:
		return errors.New("predicate or #variable is not supported")
	case *ast.VariableDeclaratorNode:
		return errors.New("let is not supported")
	case *ast.SequenceNode:
		return errors.New("several expressions separated by ';' are not supported")
	}
	return fmt.Errorf("%T is not supported", *n)
}

// isHeader reports whether n, not yet rewritten, reads a header directly:
// headers.x, headers['x'], headers?.x.
func (w *exprRewriter) isHeader(n ast.Node) bool {
	if c, ok := n.(*ast.ChainNode); ok {
		n = c.Node
	}
	m, ok := n.(*ast.MemberNode)
	if !ok || m.Method {
		return false
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	return ok && id.Value == "headers" && w.vars["headers"]
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// exprFuncs give the rewritten tree SpEL's meaning.
var exprFuncs = map[string]func(params ...any) (any, error){
	"_get":      exprGet,
	"_toString": func(p ...any) (any, error) { return exprUnary(p, "toString", javaToString) },
	"_hashCode": func(p ...any) (any, error) {
		return exprUnary(p, "hashCode", func(v any) (any, error) {
			h, err := javaHashCode(v)
			return int(h), err
		})
	},
	"_div":   exprDiv,
	"_arith": exprArith,
	"_add":   exprAdd,
	"_cmp":   exprCmp,
	"_sign":  exprSign,
	"_elvis": exprElvis,
	"_bool":  exprBool,
}

func exprUnary(p []any, name string, f func(any) (any, error)) (any, error) {
	if p[0] == nil {
		if p[1].(bool) {
			return nil, nil
		}
		return nil, fmt.Errorf("%s() called on null", name)
	}
	return f(p[0])
}

// exprGet is property access and indexing: obj.prop, obj['prop'],
// obj[0]. Structs are matched by field name or json tag (case
// insensitively, as partition keys always were), maps by key; JSON bytes
// are decoded first. A missing property is an error; a missing index
// (obj['x']) is null, as SpEL's indexer on a map returns null.
func exprGet(p ...any) (any, error) {
	obj, prop, optional := p[0], p[1], p[2].(bool)
	if rv := reflect.ValueOf(obj); rv.Kind() == reflect.Pointer && rv.IsNil() {
		obj = nil // a nil pointer field of a struct payload is null
	}
	if obj == nil {
		if optional {
			return nil, nil
		}
		return nil, fmt.Errorf("cannot read %v of null", prop)
	}
	obj = decodeJSONValue(obj)
	if i, ok := prop.(int); ok {
		rv := reflect.ValueOf(obj)
		for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
			rv = rv.Elem()
		}
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return nil, fmt.Errorf("cannot index %T with %d", obj, i)
		}
		if i < 0 || i >= rv.Len() {
			return nil, fmt.Errorf("index %d out of range [0, %d)", i, rv.Len())
		}
		return normalizeNumber(rv.Index(i).Interface()), nil
	}
	name, ok := prop.(string)
	if !ok {
		return nil, fmt.Errorf("cannot index with %T", prop)
	}
	if h, ok := obj.(Headers); ok {
		if v, ok := h[name]; ok {
			return v, nil
		}
		return nil, nil // headers['x'] and headers.x alike: SpEL's MapAccessor on headers
	}
	v, err := walkPathFrom("the value", obj, []string{name})
	if errors.Is(err, errNilValue) {
		return nil, nil // a nil pointer field is null, as a Java null field
	}
	if err != nil {
		rv := reflect.ValueOf(obj)
		if rv.Kind() == reflect.Map {
			return nil, nil // a map's missing key is null
		}
		return nil, err
	}
	return normalizeNumber(v), nil
}

// decodeJSONValue turns JSON bytes (or a JSON string) into maps and
// slices, with integral numbers as int; anything else is returned as is.
func decodeJSONValue(v any) any {
	var b []byte
	switch t := v.(type) {
	case []byte:
		b = t
	case json.RawMessage:
		b = t
	case string:
		if t = strings.TrimSpace(t); t == "" || (t[0] != '{' && t[0] != '[') {
			return v
		}
		b = []byte(t)
	default:
		return v
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return v
	}
	// One value and nothing after it: `{"a":1}}` is not JSON (More alone
	// took a stray } or ] for the end).
	if _, err := d.Token(); err != io.EOF {
		return v
	}
	return normalizeNumber(out)
}

// normalizeNumber makes numbers int when integral (as Jackson makes JSON
// integers Integer or Long), float64 otherwise; maps and slices decoded
// from JSON are converted in depth.
func normalizeNumber(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return int(i)
		}
		// An integer beyond int64 stays exact, as Jackson reads it (a
		// BigInteger): as a float64, ids such as 18446744073709551615 and
		// …614 would be one key, and the idempotent consumer would skip
		// the second as a duplicate.
		if !jacksonDouble(t) {
			if b, ok := new(big.Int).SetString(string(t), 10); ok {
				return b
			}
		}
		f, _ := t.Float64()
		return f
	case int8, int16, int32, int64, uint8, uint16, uint32:
		return int(reflect.ValueOf(t).Convert(reflect.TypeFor[int64]()).Int())
	case uint:
		if t <= math.MaxInt64 {
			return int(t)
		}
	case uint64:
		if t <= math.MaxInt64 {
			return int(t)
		}
	case float32:
		return float64(t)
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeNumber(e)
		}
	case []any:
		for i, e := range t {
			t[i] = normalizeNumber(e)
		}
	}
	return v
}

// javaToString is Object.toString for scalars.
func javaToString(v any) (any, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case []byte:
		return string(t), nil
	case int:
		return strconv.Itoa(t), nil
	case float64:
		return javaDouble(t), nil
	case bool:
		return strconv.FormatBool(t), nil
	case fmt.Stringer:
		return t.String(), nil
	}
	return nil, fmt.Errorf("toString() of %T is not supported (only strings, numbers and booleans)", v)
}

// javaDouble is Java's Double.toString(f) (JDK 19 and later, whose digits
// are the shortest that read back as f, as strconv's): plain decimal with
// at least one fractional digit for 10^-3 <= |f| < 10^7 (2.0, 0.001,
// 1234567.5), computerized scientific notation otherwise (1.0E7, 1.5E-4,
// 1.0E-323), and NaN, Infinity, -Infinity, 0.0, -0.0. Go's own forms
// (2, 1e+07) would give SpEL's 'k' + 2.0, a Double key's toString() or a
// routing key other text than SCSt, and so another hash or partition.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	// d.ddddde±XX: the shortest digits and the decimal exponent. Where one
	// digit is enough, Java picks the closest of the one- and two-digit
	// decimals that read back as f (4.9E-324, not 5.0E-324).
	e := strconv.FormatFloat(f, 'e', -1, 64)
	if len(e) < 2 || e[1] != '.' {
		if e2 := strconv.FormatFloat(f, 'e', 1, 64); parsesAs(e2, f) {
			e = e2
		}
	}
	mant, exps, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(exps)
	digits := strings.Replace(mant, ".", "", 1)
	if t := strings.TrimRight(digits, "0"); t != "" {
		digits = t
	}
	if exp >= -3 && exp < 7 {
		var b strings.Builder
		b.WriteString(sign)
		switch {
		case exp < 0:
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", -exp-1))
			b.WriteString(digits)
		case len(digits) <= exp+1:
			b.WriteString(digits)
			b.WriteString(strings.Repeat("0", exp+1-len(digits)))
			b.WriteString(".0")
		default:
			b.WriteString(digits[:exp+1])
			b.WriteByte('.')
			b.WriteString(digits[exp+1:])
		}
		return b.String()
	}
	frac := digits[1:]
	if frac == "" {
		frac = "0"
	}
	return sign + digits[:1] + "." + frac + "E" + strconv.Itoa(exp)
}

func parsesAs(s string, f float64) bool {
	g, err := strconv.ParseFloat(s, 64)
	return err == nil && g == f
}

// ExpressionPayload is payload as an expression over a message
// (routing-expression, an idempotency key, a binder's
// message-key-expression or routing-key-expression) sees its variable
// payload: the JSON value it holds, numbers as Jackson reads them (an
// integer int, *big.Int beyond 64 bits, a decimal float64: 7 stays 7,
// 2.0 is a Double), or the payload as text when it is not JSON.
func ExpressionPayload(payload []byte) any {
	v := decodeJSONValue(payload)
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}

// ExpressionText is the text Spring converts expression result v to where
// it must be a String (String.valueOf): Java's toString of a number or
// boolean (a Double as Java writes one: 2.0, 1.0E10), "null" for nil. A
// binder uses it for a key or routing key an expression yields; v is a
// result of [Expression.Eval].
func ExpressionText(v any) string { return spelString(v) }

// javaHashCode is Object.hashCode as Java computes it for the value SpEL
// would hold: String.hashCode, Integer.hashCode (Long.hashCode beyond 32
// bits), Double.hashCode, Boolean.hashCode.
func javaHashCode(v any) (int32, error) {
	switch t := v.(type) {
	case string:
		return StringHash(t), nil
	case []byte:
		return StringHash(string(t)), nil
	case int:
		return longHash(int64(t)), nil
	case float64:
		bits := math.Float64bits(t)
		return int32(bits ^ bits>>32), nil
	case bool:
		if t {
			return 1231, nil
		}
		return 1237, nil
	case *big.Int:
		return bigIntegerHash(t), nil
	case fmt.Stringer:
		return StringHash(t.String()), nil
	}
	return 0, fmt.Errorf("hashCode() of %T is not supported (only strings, numbers and booleans)", v)
}

// numericHeader is a header's text as the number it is, when it is the
// text of one as Java writes an Integer, Long or Double (-12, 40, 2.5,
// 1.0E10: no sign +, no leading zero, no space); ok is false otherwise.
//
// Headers are strings here, while in SCSt a header a Java producer set to
// an Integer stays one (typed in AMQP's header table, JSON-typed on
// Kafka), and configurations compute on it: SCSt's partitioning sample's
// headers['partitionKey'] - 1. So a header read directly (headers.x,
// headers['x']) is that number where the expression asks for a number of
// it: always to - * / % and unary -, and to + and the comparisons when
// the other side is a number (headers.n + 1 is 41, headers.n > 5 and
// headers.n == 40 compare numbers, as in SCSt for an Integer header). Beside
// text (a string literal, another header) or alone (a partition key,
// toString(), hashCode()) it stays text, as a Java String header:
// headers.n == '40', headers.a + headers.b concatenates. Strings that are
// not headers (payload fields, literals) are never numbers, as in SpEL.
func numericHeader(v any) (any, bool) {
	s, ok := v.(string)
	if !ok || s == "" || !(s[0] == '-' || isDigit(s[0])) || !isDigit(s[len(s)-1]) || !json.Valid([]byte(s)) {
		return v, false
	}
	return normalizeNumber(json.Number(s)), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isNumber reports whether v (normalised) is a number.
func isNumber(v any) bool {
	switch v.(type) {
	case int, float64, *big.Int:
		return true
	}
	return false
}

// headerOperands returns the operands a and b of + or a comparison, a
// header among them (ah, bh) read as its number when the other is a number
// (numericHeader), as its Boolean when the other is a boolean
// (booleanText).
func headerOperands(a, b any, ah, bh bool) (any, any) {
	a, b = normalizeNumber(a), normalizeNumber(b)
	if ah && isNumber(b) {
		a, _ = numericHeader(a)
	}
	if bh && isNumber(a) {
		b, _ = numericHeader(b)
	}
	if _, ok := b.(bool); ok && ah {
		a = booleanText(a)
	}
	if _, ok := a.(bool); ok && bh {
		b = booleanText(b)
	}
	return a, b
}

// booleanText is a header's text as the Boolean it is beside a boolean in
// a comparison: "true" or "false", as Java writes a Boolean, the one text
// an SCSt Boolean header (amqp_redelivered, a Spring producer's Boolean)
// arrives as; other text stays text. Spring's wider conversion (1, yes,
// on, any case: boolHeader) is not SpEL's == : to SCSt a header "1" or
// "yes" is a String (or an Integer), which never equals a Boolean, so
// headers.x == true with x "1" is false there, as here.
func booleanText(v any) any {
	switch v {
	case "true":
		return true
	case "false":
		return false
	}
	return v
}

// boolHeader is a header's text as the boolean a condition makes of it,
// as Spring's StringToBooleanConverter converts a String (trimmed; true,
// on, yes, 1 / false, off, no, 0, any case); ok is false otherwise. In
// SCSt a SpEL condition (headers.x ? a : b, !headers.x, headers.x and y)
// converts a String header so; a Boolean header (amqp_redelivered, say)
// is one already, and its text here is "true" or "false".
func boolHeader(v any) (any, bool) {
	s, ok := v.(string)
	if !ok {
		return v, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "on", "yes", "1":
		return true, true
	case "false", "off", "no", "0":
		return false, true
	}
	return v, false
}

// exprBool is a header used as a condition (?:, !, and, or): its boolean
// (boolHeader). Null or other text fails, as SpEL fails to convert it.
func exprBool(p ...any) (any, error) {
	switch v := p[0].(type) {
	case bool:
		return v, nil
	case nil:
		return nil, errors.New("a null header is not a boolean")
	}
	if b, ok := boolHeader(p[0]); ok {
		return b, nil
	}
	return nil, fmt.Errorf("header value %q is not a boolean", spelString(p[0]))
}

// arithOperand is v as an operand of - * / %: a header (h) holding a
// number is that number (numericHeader); other strings stay strings.
func arithOperand(v any, h bool) any {
	v = normalizeNumber(v)
	if h {
		v, _ = numericHeader(v)
	}
	return v
}

// exprArith is SpEL's - * %: integer arithmetic for integers, float
// otherwise (% of floats is Java's, the remainder of truncated division).
// p: operator, left, right, whether left and right read a header.
func exprArith(p ...any) (any, error) {
	op := p[0].(string)
	a, b := arithOperand(p[1], p[3].(bool)), arithOperand(p[2], p[4].(bool))
	ai, aInt := a.(int)
	bi, bInt := b.(int)
	if aInt && bInt {
		switch op {
		case "-":
			return ai - bi, nil
		case "*":
			return ai * bi, nil
		default:
			if bi == 0 {
				return nil, errors.New("division by zero")
			}
			return ai % bi, nil
		}
	}
	af, ok1 := toFloat(a)
	bf, ok2 := toFloat(b)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("invalid operation: %T %s %T", p[1], op, p[2])
	}
	switch op {
	case "-":
		return af - bf, nil
	case "*":
		return af * bf, nil
	default:
		return math.Mod(af, bf), nil
	}
}

// exprSign is unary - or + of a header: its number (numericHeader).
func exprSign(p ...any) (any, error) {
	switch v := arithOperand(p[1], true).(type) {
	case int:
		if p[0] == "-" {
			return -v, nil
		}
		return v, nil
	case float64:
		if p[0] == "-" {
			return -v, nil
		}
		return v, nil
	}
	return nil, fmt.Errorf("invalid operation: %s %T", p[0], p[1])
}

// exprDiv is SpEL's /: integer division for integers, float otherwise.
func exprDiv(p ...any) (any, error) {
	a, b := arithOperand(p[0], p[2].(bool)), arithOperand(p[1], p[3].(bool))
	ai, aInt := a.(int)
	bi, bInt := b.(int)
	if aInt && bInt {
		if bi == 0 {
			return nil, errors.New("division by zero")
		}
		return ai / bi, nil
	}
	af, ok1 := toFloat(a)
	bf, ok2 := toFloat(b)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("cannot divide %T by %T", p[0], p[1])
	}
	return af / bf, nil
}

// exprAdd is SpEL's +: concatenation when either side is a string, else
// addition (integer when both are integers); a header beside a number is
// its number (numericHeader).
func exprAdd(p ...any) (any, error) {
	a, b := headerOperands(p[0], p[1], p[2].(bool), p[3].(bool))
	_, aStr := a.(string)
	_, bStr := b.(string)
	if aStr || bStr {
		return spelString(a) + spelString(b), nil
	}
	ai, aInt := a.(int)
	bi, bInt := b.(int)
	if aInt && bInt {
		return ai + bi, nil
	}
	af, ok1 := toFloat(a)
	bf, ok2 := toFloat(b)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("cannot add %T and %T", p[0], p[1])
	}
	return af + bf, nil
}

// exprCmp is a comparison with a header on one side at least: a header
// beside a number is its number (numericHeader); otherwise the comparison
// is the one it would be without the header rule (text with text).
func exprCmp(p ...any) (any, error) {
	a, b := headerOperands(p[1], p[2], p[3].(bool), p[4].(bool))
	op := p[0].(string)
	if (a == nil || b == nil) && op != "==" && op != "!=" {
		// SpEL's StandardTypeComparator: null is less than any value and
		// equal to null, so headers['missing'] > 5 is false, not an error.
		c := 0
		switch {
		case a == nil && b != nil:
			c = -1
		case a != nil && b == nil:
			c = 1
		}
		switch op {
		case "<":
			return c < 0, nil
		case ">":
			return c > 0, nil
		case "<=":
			return c <= 0, nil
		default:
			return c >= 0, nil
		}
	}
	switch op {
	case "==":
		return runtime.Equal(a, b), nil
	case "!=":
		return !runtime.Equal(a, b), nil
	case "<":
		return runtime.Less(a, b), nil
	case ">":
		return runtime.More(a, b), nil
	case "<=":
		return runtime.LessOrEqual(a, b), nil
	default:
		return runtime.MoreOrEqual(a, b), nil
	}
}

func spelString(v any) string {
	if v == nil {
		return "null"
	}
	if s, err := javaToString(v); err == nil {
		return s.(string)
	}
	return fmt.Sprint(v)
}

func toFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case int:
		return float64(t), true
	case float64:
		return t, true
	}
	return 0, false
}

// exprElvis is SpEL's a ?: b: b when a is null or an empty string.
func exprElvis(p ...any) (any, error) {
	if p[0] == nil || p[0] == "" {
		return p[1], nil
	}
	return p[0], nil
}
