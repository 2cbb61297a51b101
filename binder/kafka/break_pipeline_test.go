package kafka_test

// Adversarial tests by the "breaker" review of what a function binding
// commits, pipelined (consumer.max-in-flight) and under ordering: key:
// the broker itself checks, at every OffsetCommit of the group, that each
// input below the committed offset had its output (or its dead letter)
// written in a produce request the broker took before the commit came
// (kfake handles requests one at a time, so that order is the broker's).

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/stream"
)

// produceValues is the values of the records in a produce request's
// record batches (uncompressed).
func produceValues(b []byte) ([]string, error) {
	var out []string
	for len(b) > 0 {
		var rb kmsg.RecordBatch
		if err := rb.ReadFrom(b); err != nil {
			return out, err
		}
		size := 12 + int(rb.Length)
		if rb.Attributes&0x7 != 0 {
			return out, errors.New("compressed batch")
		}
		recs := rb.Records
		for range rb.NumRecords {
			l, n := binary.Varint(recs)
			if n <= 0 {
				return out, errors.New("bad record length")
			}
			var r kmsg.Record
			if err := r.ReadFrom(recs[:n+int(l)]); err != nil {
				return out, err
			}
			out = append(out, string(r.Value))
			recs = recs[n+int(l):]
		}
		if size > len(b) {
			break
		}
		b = b[size:]
	}
	return out, nil
}

// commitJudge watches the cluster: produce requests to out (faulting
// every faultEvery-th of the first faults ones with NOT_LEADER) and to
// dlq record the values they carry; each OffsetCommit of group g on in is
// checked against them.
type commitJudge struct {
	t        *testing.T
	pw       *pipeWriter
	out, dlq string
	in       string

	mu         sync.Mutex
	written    map[string]bool // input values whose output or dead letter the broker took
	faulted    atomic.Int64
	dlqFaulted atomic.Int64
	faultEvery int64
	faults     int64
	reqs       atomic.Int64
	off        atomic.Bool
	slow       atomic.Int64 // nanoseconds each produce request to out waits
	commits    atomic.Int64
	violation  []string
	// vals[p][o] is the input at offset o of partition p (from pw.at,
	// rebuilt as inputs are added); every input of p below settled[p]
	// had its output or dead letter written when a commit was checked,
	// and stays so (written only grows): check looks at the inputs from
	// settled[p] on, not at all of pw.at at each commit (quadratic: a
	// sixth of the test's CPU under -race, held in kfake's request loop).
	vals    [pipeParts][]string
	settled [pipeParts]int64
}

func newCommitJudge(t *testing.T, c *kafkatest.Cluster, pw *pipeWriter, in, out, dlq string, faultEvery, faults int64) *commitJudge {
	j := &commitJudge{t: t, pw: pw, in: in, out: out, dlq: dlq, written: map[string]bool{}, faultEvery: faultEvery, faults: faults}
	t.Cleanup(func() { j.off.Store(true) })
	j.install(c)
	return j
}

// install puts the judge's controls on c's current kfake cluster (again
// after a restart).
func (j *commitJudge) install(c *kafkatest.Cluster) {
	t, out, dlq, in := j.t, j.out, j.dlq, j.in
	kf := c.Kfake // this cluster's (Restart replaces c.Kfake)
	faultEvery, faults := j.faultEvery, j.faults
	reqs, off := &j.reqs, &j.off
	kf.ControlKey(int16(kmsg.Produce), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		if off.Load() {
			kf.DropControl()
			return nil, nil, false
		}
		kf.KeepControl()
		req := kr.(*kmsg.ProduceRequest)
		toOut, toDLQ := false, false
		for _, rt := range req.Topics {
			toOut = toOut || rt.Topic == out
			toDLQ = toDLQ || rt.Topic == dlq
		}
		fault := toOut && faultEvery > 0 && j.faulted.Load() < faults && reqs.Add(1)%faultEvery == 0
		// The dead-letter writer's first requests are refused too.
		fault = fault || toDLQ && j.dlqFaulted.Add(1) <= 5
		if d := time.Duration(j.slow.Load()); toOut && d > 0 {
			// Slow output: windows fill, the restart finds them full.
			// The cluster is held meanwhile (so 5ms, not SleepControl's
			// 20ms): SleepControl's many short sleeps meet a data race
			// inside kfake (see advSlowProduce), which failed a CI run
			// here.
			time.Sleep(d)
		}
		if fault {
			j.faulted.Add(1)
			resp := req.ResponseKind().(*kmsg.ProduceResponse)
			for _, rt := range req.Topics {
				st := kmsg.NewProduceResponseTopic()
				st.Topic = rt.Topic
				for _, rp := range rt.Partitions {
					sp := kmsg.NewProduceResponseTopicPartition()
					sp.Partition = rp.Partition
					sp.ErrorCode = kerr.NotLeaderForPartition.Code
					st.Partitions = append(st.Partitions, sp)
				}
				resp.Topics = append(resp.Topics, st)
			}
			return resp, nil, true
		}
		for _, rt := range req.Topics {
			if rt.Topic != out && rt.Topic != dlq {
				continue
			}
			for _, rp := range rt.Partitions {
				vs, err := produceValues(rp.Records)
				if err != nil {
					t.Errorf("parse produce request: %v", err)
				}
				j.mu.Lock()
				for _, v := range vs {
					j.written[strings.TrimPrefix(v, "out:")] = true
				}
				j.mu.Unlock()
			}
		}
		return nil, nil, false
	})
	kf.ControlKey(int16(kmsg.OffsetCommit), func(kr kmsg.Request) (kmsg.Response, error, bool) {
		if off.Load() {
			kf.DropControl()
			return nil, nil, false
		}
		kf.KeepControl()
		req := kr.(*kmsg.OffsetCommitRequest)
		if req.Group != "g" {
			return nil, nil, false
		}
		j.commits.Add(1)
		for _, rt := range req.Topics {
			if rt.Topic != in {
				continue
			}
			for _, rp := range rt.Partitions {
				j.check(rp.Partition, rp.Offset)
			}
		}
		return nil, nil, false
	})
}

// check judges a commit of offset on partition part of in.
func (j *commitJudge) check(part int32, offset int64) {
	j.pw.mu.Lock()
	defer j.pw.mu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if int64(len(j.vals[part])) < j.pw.next[part] {
		for p := range j.vals {
			j.vals[p] = slices.Grow(j.vals[p][:0], int(j.pw.next[p]))[:j.pw.next[p]]
		}
		for v, at := range j.pw.at {
			j.vals[at[0]][at[1]] = v
		}
	}
	vals := j.vals[part]
	for o := j.settled[part]; o < offset && o < int64(len(vals)); o++ {
		switch v := vals[o]; {
		case !j.written[v]:
			j.violation = append(j.violation, fmt.Sprintf("partition %d committed at %d before input %s (offset %d) had its output or dead letter written", part, offset, v, o))
		case o == j.settled[part]:
			j.settled[part]++
		}
	}
}

func (j *commitJudge) verdict(t *testing.T) {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, v := range j.violation {
		if i == 10 {
			t.Errorf("... %d violations in all", len(j.violation))
			break
		}
		t.Error(v)
	}
	for v := range j.pw.at {
		if !j.written[v] {
			t.Errorf("input %s has neither output nor dead letter", v)
		}
	}
}

// breakRelay is "relay" (value → "out:"+value) failing for good on the
// inputs whose sequence is 5 mod 13.
func breakRelay(calls *atomic.Int64, oversize bool) *stream.Catalog {
	fns := stream.NewCatalog()
	stream.AddFunction(fns, "relay", func(_ context.Context, v []byte) ([]byte, error) {
		calls.Add(1)
		s := string(v)
		if seq, err := strconv.Atoi(s[strings.IndexByte(s, ':')+1:]); err == nil && seq%13 == 5 {
			return nil, errors.New("refused " + s)
		} else if oversize && seq%17 == 3 {
			// Over the output topic's max.message.bytes: refused for good.
			return append([]byte("out:"+s+"#"), make([]byte, 4000)...), nil
		}
		return append([]byte("out:"), v...), nil
	})
	return fns
}

// TestBreakPipeCommitJudged: a relay function, 3 input and 3 output
// partitions, dlq on, the function failing for good on some inputs, the
// broker refusing every 5th produce request to the output (NOT_LEADER) a
// few dozen times with send-attempts 2 (so some sends fail to the core
// and their inputs are handled again), inputs written while it runs. At
// every commit, the broker checks that each input below it has its output
// or dead letter written; in the end each input has one. Pipelined
// (max-in-flight 64, concurrency 1 and 3), not pipelined (max-in-flight
// 1) and with ordering: key (concurrency 4).
func TestBreakPipeCommitJudged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		consumer string
	}{
		{"pipelined", "max-in-flight: 64\nconcurrency: 1\n"},
		{"pipelined concurrency 3", "max-in-flight: 64\nconcurrency: 3\n"},
		{"sequential", "max-in-flight: 1\n"},
		{"ordering key", "concurrency: 4\n"},
		{"pipelined rebalance", "max-in-flight: 64\nconcurrency: 2\n"},
		{"ordering key rebalance", "concurrency: 4\n"},
		{"pipelined oversize", "max-in-flight: 64\nconcurrency: 2\n"},
		{"ordering key oversize", "concurrency: 4\n"},
		{"pipelined restart", "max-in-flight: 64\nconcurrency: 2\n"},
		{"ordering key restart", "concurrency: 4\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const chunks, chunk = 20, 150
			c := kafkatest.StartRestartable(t)
			oversize := strings.Contains(tc.name, "oversize")
			var outCfg map[string]string
			if oversize {
				outCfg = map[string]string{"max.message.bytes": "2000"}
			}
			in, out, pw := pipeTopics(t, c, 3, outCfg)
			dlq := pipeDLQ(t, c, in)
			j := newCommitJudge(t, c, pw, in, out, dlq, 5, 40)
			if strings.Contains(tc.name, "restart") {
				j.slow.Store(int64(5 * time.Millisecond))
			}
			binders := ""
			if strings.Contains(tc.name, "ordering key") {
				binders = "  kafka:\n    bindings:\n      relay-in-0:\n        consumer:\n          ordering: key\n          redelivery-delay: 10ms\n"
			} else {
				binders = "  kafka:\n    bindings:\n      relay-in-0:\n        consumer:\n          redelivery-delay: 10ms\n"
			}
			binders += "      relay-out-0:\n        producer:\n          send-attempts: 2\n"
			yaml := advKafkaYAML(c, "relay", "relay", in, out,
				tc.consumer+"max-attempts: 2\nback-off-initial-interval: 5\nback-off-max-interval: 10\n"+"dlq: true\n", "", "")
			yaml = strings.Replace(yaml, "  bindings:\n", binders+"  bindings:\n", 1)
			yaml = strings.Replace(yaml, "      consumer:\n", "      consumer:\n", 1)
			var calls atomic.Int64
			a := advRun(t, yaml, breakRelay(&calls, oversize))
			rebalance := strings.Contains(tc.name, "rebalance")
			var second *advApp
			for i := range chunks {
				pw.write(t, chunk)
				time.Sleep(3 * time.Millisecond)
				switch {
				case rebalance && i == chunks/4:
					second = advRun(t, yaml, breakRelay(&calls, oversize))
				case rebalance && i == chunks/2:
					if err := a.stop(t); err != nil {
						t.Errorf("run: %v", err)
					}
					a = second
				case strings.Contains(tc.name, "restart") && i == chunks/2:
					c.Close()
					if err := c.Restart(); err != nil {
						t.Fatal(err)
					}
					j.install(c)
					// The slow output was there for the restart to find
					// the windows full; from here on it only held the
					// cluster 5ms at every produce request (16 of the
					// 20s of the ordering key case on an idle machine).
					j.slow.Store(0)
				}
			}
			waitAllCommitted(t, pipeClient(c), in, chunks*chunk)
			if err := a.stop(t); err != nil {
				t.Errorf("run: %v", err)
			}
			j.verdict(t)
			t.Logf("%d inputs, %d calls, %d produce requests faulted, %d commits judged", chunks*chunk, calls.Load(), j.faulted.Load(), j.commits.Load())
		})
	}
}
