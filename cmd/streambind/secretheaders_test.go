package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/kafka/kafkatest"
	"github.com/streambind/streambind/binder/memory"
	"github.com/streambind/streambind/redact"
	"github.com/streambind/streambind/stream"
)

// secretHeaderArgs are send's --header flags of TestSecretHeaders*: three
// headers whose names name secrets (as the logs and streambind config
// read them), and two that do not (the partition key header "key" is a
// key, not a secret).
var secretHeaderArgs = []string{"--header", "Authorization=Bearer SecretBearerTok3n", "--header", "x-api-key=HdrApiKey12345",
	"--header", "password=HdrPw12345", "--header", "customer=c-9", "--header", "key=k-9"}

var secretHeaderValues = []string{"SecretBearerTok3n", "HdrApiKey12345", "HdrPw12345"}

// TestSecretHeadersShow: dlq show printed the values of Authorization,
// x-api-key and password headers in full, while the logs and streambind
// config hide the values of such keys. They are ****** unless
// --show-secrets; other headers and the payload are shown as they are.
func TestSecretHeadersShow(t *testing.T) {
	t.Parallel()
	broker, err := memory.NewBroker(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close(context.Background()) })
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(dlqService, "  default-binder: memory")})
	a := startDLQApp(t, dir, []string{}, stream.WithBinderType(memory.Type, memory.Factory(broker)))
	if err := a.app.Bridge().Send(context.Background(), "in", stream.Message[job]{Payload: job{"1", "token=PayloadTok3n"},
		Headers: stream.Headers{"Authorization": "Bearer SecretBearerTok3n", "x-api-key": "HdrApiKey12345", "password": "HdrPw12345",
			"customer": "c-9", "key": "k-9"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "1 dead letter", func() bool { n, _ := broker.Depth(stream.DLQName("work", "g"), "audit"); return n == 1 })
	factories := map[string]stream.BinderFactory{memory.Type: memory.Factory(broker)}

	r := runWith(t, &runEnv{dir: dir, binders: factories}, "dlq", "show", "--binding", "work-in-0")
	if r.code != exitOK {
		t.Fatalf("show: exit %d, stderr %q", r.code, r.stderr)
	}
	for _, v := range secretHeaderValues {
		if strings.Contains(r.stdout, v) {
			t.Errorf("show prints %s:\n%s", v, r.stdout)
		}
	}
	for _, want := range []string{"  Authorization: " + redact.Redacted + "\n", "  x-api-key: " + redact.Redacted + "\n", "  password: " + redact.Redacted + "\n",
		"  customer: c-9\n", "  key: k-9\n", `"reason": "token=PayloadTok3n"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runWith(t, &runEnv{dir: dir, binders: factories}, "dlq", "show", "--binding", "work-in-0", "--show-secrets")
	for _, want := range []string{"  Authorization: Bearer SecretBearerTok3n\n", "  x-api-key: HdrApiKey12345\n", "  password: HdrPw12345\n"} {
		if r.code != exitOK || !strings.Contains(r.stdout, want) {
			t.Errorf("show --show-secrets: exit %d, lacks %q:\n%s", r.code, want, r.stdout)
		}
	}
}

// TestSecretHeadersTail: tail printed the values of secret headers in
// full; they are "******" unless --show-secrets.
func TestSecretHeadersTail(t *testing.T) {
	t.Parallel()
	c := kafkatest.Start(t)
	topic := fmt.Sprintf("cli-sechdr-%d", time.Now().UnixNano())
	dir := writeFiles(t, map[string]string{"application.yaml": fmt.Sprintf(kafkaService, topic)})
	env := []string{"KAFKA_BROKERS=" + c.Brokers()}
	createTopic(t, c.Brokers(), topic, 2)

	masked := startTail(t, dir, env, "--destination", topic, "--from-beginning", "--count", "1", "--timeout", "30s")
	shown := startTail(t, dir, env, "--destination", topic, "--from-beginning", "--count", "1", "--timeout", "30s", "--show-secrets")
	r := runIn(t, dir, env, append(append([]string{"send", "--destination", topic}, secretHeaderArgs...), `{"id":"a"}`)...)
	if r.code != exitOK {
		t.Fatalf("send: exit %d, stderr %q", r.code, r.stderr)
	}
	code, got := masked.wait(t)
	if code != exitOK || len(got) != 1 {
		t.Fatalf("tail: exit %d, stderr %q, got %v", code, masked.errText(), got)
	}
	h := got[0].Headers
	if h["Authorization"] != redact.Redacted || h["x-api-key"] != redact.Redacted || h["password"] != redact.Redacted ||
		h["customer"] != "c-9" || h["key"] != "k-9" {
		t.Errorf("tail headers: %v", h)
	}
	code, got = shown.wait(t)
	if code != exitOK || len(got) != 1 {
		t.Fatalf("tail --show-secrets: exit %d, stderr %q, got %v", code, shown.errText(), got)
	}
	h = got[0].Headers
	if h["Authorization"] != "Bearer SecretBearerTok3n" || h["x-api-key"] != "HdrApiKey12345" || h["password"] != "HdrPw12345" {
		t.Errorf("tail --show-secrets headers: %v", h)
	}
}
