package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/streambind/streambind/binder/rabbit/rabbittest"
	"github.com/streambind/streambind/stream"
)

// TestDLQReplaySkipsHeadersOnly: a dead letter whose payload was dropped
// to fit dead-letter-max-size is not replayed (a note says why, the
// summary counts it) and stays. Replay sent its empty copy and removed
// it: the copy failed to decode, and its new dead letter pointed at the
// copy, the original's coordinates and error gone.
func TestDLQReplaySkipsHeadersOnly(t *testing.T) {
	t.Parallel()
	dir, env, opt, depth := redisService(t)
	file := filepath.Join(dir, "application.yaml")
	yaml, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	small := strings.Replace(string(yaml), "key-prefix: ${PREFIX}", "key-prefix: ${PREFIX}\n        dead-letter-max-size: 2048", 1)
	if err := os.WriteFile(file, []byte(small), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startDLQApp(t, dir, env, opt)
	a.send(t, "c-1", job{"big", strings.Repeat("r", 3000)})
	eventually(t, "1 dead letter", func() bool { return depth() == 1 })
	show := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "show", "1", "--binding", "work-in-0")
	if !strings.Contains(show.stdout, stream.HeaderPayloadSize+": ") || !strings.Contains(show.stdout, "payload (0 bytes)") {
		t.Fatalf("not a headers-only dead letter:\n%s", show.stdout)
	}
	for _, args := range [][]string{{"--dry-run"}, nil} {
		r := runWith(t, &runEnv{env: env, dir: dir}, append([]string{"dlq", "replay", "--binding", "work-in-0"}, args...)...)
		if r.code != exitOK || !strings.Contains(r.stdout, " 0 dead letters of work-in-0") || !strings.Contains(r.stdout, "1 without payload (headers-only), not replayed") ||
			!strings.Contains(r.stderr, "skipped: its payload (") {
			t.Errorf("replay %v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	if n := depth(); n != 1 {
		t.Errorf("after replay: %d dead letters, want the headers-only one kept", n)
	}
	after := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "show", "1", "--binding", "work-in-0")
	if after.stdout != show.stdout {
		t.Errorf("the dead letter changed:\nbefore %s\nafter %s", show.stdout, after.stdout)
	}
	select {
	case m := <-a.back:
		t.Errorf("a replayed copy arrived: %+v", m)
	default:
	}
}

// TestDLQReplaySkipsHeadersOnlyKeyed: on RabbitMQ a message's key travels
// as a header (x-streambind-key), which a headers-only dead letter keeps,
// so it reads back with a key and no payload. replay took it for a dead
// letter with a payload and sent its empty copy, then removed it.
func TestDLQReplaySkipsHeadersOnlyKeyed(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	binder := strings.Replace(rabbitBinder, "virtual-host: ${VHOST}", "virtual-host: ${VHOST}\n        max-message-size: 2048", 1)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, binder)})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	depth := queueDepth(t, vhost, "work.g.dlq")
	ch := rabbittest.Channel(t, vhost)
	body := `{"id":"big","reason":"` + strings.Repeat("r", 3000) + `"}`
	if err := ch.Publish("work", "#", false, false, amqp.Publishing{Body: []byte(body), ContentType: "application/json",
		Headers: amqp.Table{"x-streambind-key": "c-1"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "1 dead letter", func() bool { return depth() == 1 })
	show := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "show", "1", "--binding", "work-in-0")
	if !strings.Contains(show.stdout, stream.HeaderPayloadSize+": ") {
		t.Fatalf("not a headers-only dead letter:\n%s", show.stdout)
	}
	r := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "replay", "--binding", "work-in-0")
	if r.code != exitOK || !strings.Contains(r.stdout, "replayed 0 dead letters of work-in-0") || !strings.Contains(r.stdout, "1 without payload (headers-only), not replayed") {
		t.Errorf("replay: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if n := depth(); n != 1 {
		t.Errorf("after replay: %d dead letters, want the headers-only one kept", n)
	}
	select {
	case m := <-a.back:
		t.Errorf("a replayed copy arrived: %+v", m)
	default:
	}
}

// TestDLQReplayKeylessSaysSo: on RabbitMQ a key too large for a dead
// letter's headers is dropped from it (x-streambind-key-size gives its
// size). Replay sends the message without its key, and a note per dead
// letter and the summary say so: its copy may go to another partition
// than the key's other messages. Replay said nothing of it.
func TestDLQReplayKeylessSaysSo(t *testing.T) {
	t.Parallel()
	vhost := rabbittest.VHost(t)
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, rabbitBinder)})
	env := []string{"VHOST=" + vhost}
	a := startDLQApp(t, dir, env)
	depth := queueDepth(t, vhost, "work.g.dlq")
	ch := rabbittest.Channel(t, vhost)
	// 120 KiB: fits the default frame (128 KiB) on the way in, not a dead
	// letter's header budget (frame_max - 20,000 bytes).
	key := strings.Repeat("k", 120<<10)
	if err := ch.Publish("work", "#", false, false, amqp.Publishing{Body: []byte(`{"id":"huge-key","reason":"boom"}`), ContentType: "application/json",
		Headers: amqp.Table{"x-streambind-key": key}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "1 dead letter", func() bool { return depth() == 1 })
	show := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "show", "1", "--binding", "work-in-0")
	if !strings.Contains(show.stdout, stream.HeaderKeySize+": ") {
		t.Fatalf("the dead letter kept its key:\n%.2000s", show.stdout)
	}
	dry := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "replay", "--binding", "work-in-0", "--dry-run")
	if dry.code != exitOK || !strings.Contains(dry.stdout, "1 of them without the key") || !strings.Contains(dry.stderr, "would be replayed without its key") {
		t.Errorf("replay --dry-run: exit %d, stdout %q, stderr %.500q", dry.code, dry.stdout, dry.stderr)
	}
	r := runWith(t, &runEnv{env: env, dir: dir}, "dlq", "replay", "--binding", "work-in-0")
	if r.code != exitOK || !strings.Contains(r.stdout, "replayed 1 dead letter of work-in-0") || !strings.Contains(r.stdout, "1 of them without the key") ||
		!strings.Contains(r.stderr, "replayed without its key: the key (122880 bytes)") {
		t.Errorf("replay: exit %d, stdout %q, stderr %.500q", r.code, r.stdout, r.stderr)
	}
	select {
	case m := <-a.back:
		if m.Payload.ID != "huge-key" || len(m.Key) != 0 {
			t.Errorf("copy: id %q, key of %d bytes; want huge-key without a key", m.Payload.ID, len(m.Key))
		}
		if _, ok := m.Headers[stream.HeaderKeySize]; ok {
			t.Errorf("the copy carries %s", stream.HeaderKeySize)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no replayed copy within 30s")
	}
}
