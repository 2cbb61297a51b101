package kafkatest_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
)

// TestRestartAfterCloseWithControlRunning: a produce whose control
// function runs while the cluster is closed is still appended by the
// closed cluster, after Close returned (kfake: the run loop handles
// Close's shutdown while it waits for a control function, then handles
// the request). The restarted cluster serves its own records all the
// same, each once at its offset:
//
//   - the stray record appended after Restart loaded the data is not
//     among them. Before Restart gave each run a copy of the data, the
//     restarted cluster read the stray batch in place of its own first
//     one (offset 1 read "stray", "after" never), and every batch after
//     it from the wrong place;
//   - one appended before Restart copied the data is (a record written
//     and not acknowledged, as a broker that stopped right after writing
//     it would keep it), and the records after it follow.
func TestRestartAfterCloseWithControlRunning(t *testing.T) {
	for _, tc := range []struct {
		name        string
		strayBefore bool // the stray record is written before Restart
		want        string
	}{
		{"stray written after the restart", false, "before@0 after@1"},
		{"stray written before the restart", true, "before@0 stray@1 after@2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			c, err := kafkatest.NewRestartable(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			const topic = "restart-stray"
			if err := c.Kfake.CreateTopic(topic, 1, nil); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			write := func(v string) error {
				conn, err := kafkago.DialLeader(ctx, "tcp", c.Addrs()[0], topic, 0)
				if err != nil {
					return err
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				_, err = conn.WriteMessages(kafkago.Message{Value: []byte(v)})
				return err
			}
			if err := write("before"); err != nil {
				t.Fatal(err)
			}

			entered, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			k := c.Kfake
			k.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
				k.KeepControl()
				once.Do(func() { close(entered); <-release })
				return nil, nil, false // an observer: the cluster handles the request
			})
			strayDone := make(chan error, 1)
			go func() { strayDone <- write("stray") }() // unanswered: the cluster closes
			<-entered
			c.Close() // returns while the control function still runs
			// strayWritten releases the control function and waits until
			// the closed cluster appended the stray record.
			strayWritten := func() {
				before := segmentBytes(t, dir)
				close(release)
				deadline := time.Now().Add(10 * time.Second)
				for segmentBytes(t, dir) == before {
					if time.Now().After(deadline) {
						t.Fatal("the closed cluster did not append the stray record within 10s")
					}
					time.Sleep(10 * time.Millisecond) // polling the data directory
				}
			}
			if tc.strayBefore {
				strayWritten()
			}
			if err := c.Restart(); err != nil {
				t.Fatal(err)
			}
			if !tc.strayBefore {
				strayWritten()
			}
			if err := <-strayDone; err == nil {
				t.Fatal("the stray write was acknowledged; want it unanswered")
			}

			if err := write("after"); err != nil {
				t.Fatal(err)
			}
			if got := readAll(ctx, t, c, topic); got != tc.want {
				t.Fatalf("read %q; want %q", got, tc.want)
			}
		})
	}
}

// readAll reads partition 0 of topic from offset 0 to its end, as
// "value@offset" separated by spaces.
func readAll(ctx context.Context, t *testing.T, c *kafkatest.Cluster, topic string) string {
	t.Helper()
	conn, err := kafkago.DialLeader(ctx, "tcp", c.Addrs()[0], topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	first, last, err := conn.ReadOffsets()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Seek(first, kafkago.SeekAbsolute); err != nil {
		t.Fatal(err)
	}
	var got []string
	for offset := first; offset < last; {
		batch := conn.ReadBatch(1, 1<<20)
		for {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			got = append(got, fmt.Sprintf("%s@%d", m.Value, m.Offset))
			offset = m.Offset + 1
		}
		if err := batch.Close(); err != nil {
			t.Fatalf("read from offset %d (end %d): %v", offset, last, err)
		}
	}
	return strings.Join(got, " ")
}

// segmentBytes is the size of every segment file under dir.
func segmentBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".dat") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
