package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/internal/testparallel"
)

// TestMain lets the test binary stand in for the command: with
// STREAMBIND_TEST_MAIN=1 in its environment it runs main with its
// arguments, so that a test can start the command as another process.
//
// The parallel tests (each on a vhost, key prefix, stream names or kfake
// cluster of its own) mostly wait: on brokers, on leases and
// --connect-timeout, on processes of the command. The test binary used
// about a quarter of the machine's two cores when they ran one at a time,
// so unless -parallel is given they run parallelTests at a time rather
// than GOMAXPROCS.
func TestMain(m *testing.M) {
	if os.Getenv("STREAMBIND_TEST_MAIN") == "1" {
		main()
		return
	}
	// As main does: the in-process runs of the command (runIn) would
	// print go-redis's dial failures, under whichever tests run then.
	goredis.SetLogger(noRedisLog{})
	flag.Parse()
	noRaceExitSleep()
	testparallel.AtLeast(parallelTests)
	os.Exit(rabbittest.Main(m))
}

// parallelTests is how many parallel tests run at once without -parallel.
const parallelTests = 8

// noRaceExitSleep has the command's processes (this binary, started by
// the tests with STREAMBIND_TEST_MAIN=1) exit without the race runtime's
// second of sleep (GORACE atexit_sleep_ms, default 1000), unless GORACE
// sets it: a test that waits for a process of the command to end waited
// a second more each time (a second for "--help", its work taking 30ms).
// A race the process found is still reported and still makes it exit
// with status 66 (GORACE exitcode); the sleep only let a report being
// written as main returned finish. The variable is set before any test
// runs, and the processes inherit it with os.Environ.
func noRaceExitSleep() {
	g := os.Getenv("GORACE")
	if strings.Contains(g, "atexit_sleep_ms") {
		return
	}
	if err := os.Setenv("GORACE", strings.TrimSpace(g+" atexit_sleep_ms=0")); err != nil {
		panic("set GORACE: " + err.Error())
	}
}

// produceConsume sends n messages to a new topic through the broker at
// addr with kafka-go and reads them back; it returns the topic.
func produceConsume(t *testing.T, addr string, n int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	topic := fmt.Sprintf("serve-%d", time.Now().UnixNano())
	w := &kafkago.Writer{Addr: kafkago.TCP(addr), Topic: topic, RequiredAcks: kafkago.RequireAll,
		AllowAutoTopicCreation: true, BatchTimeout: time.Millisecond,
		// Everything to partition 0, which consume reads.
		Balancer: kafkago.BalancerFunc(func(_ kafkago.Message, partitions ...int) int { return partitions[0] })}
	defer w.Close()
	var msgs []kafkago.Message
	for i := range n {
		msgs = append(msgs, kafkago.Message{Key: []byte("k"), Value: []byte("m" + strconv.Itoa(i))})
	}
	conn, err := kafkago.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	err = conn.CreateTopics(kafkago.TopicConfig{Topic: topic, NumPartitions: 1, ReplicationFactor: 1})
	conn.Close()
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce: %v", err)
	}
	consume(t, addr, topic, n)
	return topic
}

// consume reads topic from the start and checks it holds m0..m<n-1>.
func consume(t *testing.T, addr, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: 0, MaxWait: time.Second})
	defer r.Close()
	for i := range n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("consume message %d: %v", i, err)
		}
		if got, want := string(m.Value), "m"+strconv.Itoa(i); got != want {
			t.Fatalf("message %d is %q, want %q", i, got, want)
		}
	}
}

// The command run in process: it serves until its context ends.
func TestKafkaServeInProcess(t *testing.T) {
	t.Parallel()
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"kafka", "serve", "--port", "0", "--partitions", "3"},
			&runEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, env: []string{}, ready: ready})
	}()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("serve ended with %d before it was ready: %s", code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve not ready within 10s")
	}
	produceConsume(t, addr, 10)

	// A topic created without a count gets --partitions.
	conn, err := kafkago.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.CreateTopics(kafkago.TopicConfig{Topic: "defaulted", NumPartitions: -1, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions("defaulted")
	conn.Close()
	if err != nil || len(parts) != 3 {
		t.Errorf("partitions of a defaulted topic: %d (%v), want 3", len(parts), err)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit status %d, want 0; stderr %q", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop within 10s of its context ending")
	}
	if want := "listening on " + addr + " (export KAFKA_BROKERS=" + addr + ")\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the broker still accepts connections after it stopped")
	}
}

// serveProcess starts the command as another process and returns it with
// the address it printed.
func serveProcess(t *testing.T, args ...string) (*exec.Cmd, string, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"kafka", "serve"}, args...)...)
	cmd.Env = append(os.Environ(), "STREAMBIND_TEST_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-line:
		addr, ok := strings.CutPrefix(l, "listening on ")
		if !ok {
			t.Fatalf("first line %q (stderr %q)", l, stderr.String())
		}
		addr, _, _ = strings.Cut(addr, " ")
		return cmd, addr, stderr
	case <-time.After(15 * time.Second):
		t.Fatalf("no address printed within 15s (stderr %q)", stderr.String())
	}
	return nil, "", nil
}

// stop sends sig to the process and waits for it to exit 0.
func stop(t *testing.T, cmd *exec.Cmd, sig os.Signal, stderr *strings.Builder) {
	t.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after %v: %v (stderr %q)", sig, err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15s after %v", sig)
	}
	if !strings.HasSuffix(stderr.String(), "kafka serve: stopped\n") {
		t.Errorf("stderr %q, want it to end with the stop line", stderr.String())
	}
}

// Another process uses the broker; SIGTERM and SIGINT stop it cleanly, and
// with --data-dir the next serve has the records of the previous one.
// Not parallel: the second serve listens on the port the first let go of.
func TestKafkaServeProcess(t *testing.T) {
	dir := t.TempDir()
	cmd, addr, stderr := serveProcess(t, "--port", "0", "--data-dir", dir)
	topic := produceConsume(t, addr, 20)
	stop(t, cmd, syscall.SIGTERM, stderr)

	_, port, _ := net.SplitHostPort(addr)
	cmd, addr2, stderr := serveProcess(t, "--port", port, "--data-dir", dir)
	if addr2 != addr {
		t.Errorf("restarted on %s, want %s", addr2, addr)
	}
	consume(t, addr2, topic, 20)
	stop(t, cmd, os.Interrupt, stderr)
}

func TestKafkaServeUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		text string
	}{
		{[]string{"kafka"}, exitUsage, "Available Commands"},
		{[]string{"kafka", "serve", "--port", "70000"}, exitUsage, "--port: want 0 (any free port) to 65535, got 70000"},
		{[]string{"kafka", "serve", "--partitions", "0"}, exitUsage, "--partitions: want at least 1, got 0"},
		{[]string{"kafka", "serve", "extra"}, exitUsage, `unknown command "extra"`},
	} {
		r := runIn(t, t.TempDir(), nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.text) {
			t.Errorf("%v: exit status %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.text)
		}
	}
	r := runIn(t, t.TempDir(), nil, "kafka", "serve", "--help")
	if r.code != exitOK || !strings.Contains(r.stdout, "streambind kafka serve --port 19092") {
		t.Errorf("help: exit status %d, stdout %q", r.code, r.stdout)
	}
	// A port in use is a failure, not bad usage.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	r = runIn(t, t.TempDir(), nil, "kafka", "serve", "--port", port)
	if r.code != exitFailure || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("port in use: exit status %d, stderr %q", r.code, r.stderr)
	}
}
