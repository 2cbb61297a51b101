package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/streambind/streambind/binder/rabbit"
	"github.com/streambind/streambind/binder/rabbit/rabbittest"
)

// TestDemoOnRabbit runs the shop on the local RabbitMQ in a virtual host of
// its own (created and deleted here), so that it neither sees nor disturbs
// the queues of `make demo-rabbit` or of other tests.
func TestDemoOnRabbit(t *testing.T) {
	rabbittest.Require(t)
	vhost := "streambind-demo-test-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	ctl := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("rabbitmqctl", args...).CombinedOutput(); err != nil {
			t.Fatalf("rabbitmqctl %v: %v\n%s", args, err, out)
		}
	}
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		t.Skip("rabbitmqctl not installed: cannot create a virtual host")
	}
	ctl("add_vhost", vhost)
	t.Cleanup(func() { _ = exec.Command("rabbitmqctl", "delete_vhost", vhost).Run() })
	ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
	t.Setenv("RABBIT_VHOST", vhost)
	t.Setenv("RABBIT_ADDRESSES", rabbittest.Address())

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--config", "../../application.yaml", "--profile", "rabbit", "--orders", "300", "--poison-every", "10", "--timeout", "60s"}, &out, &errOut, time.Now())
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	m := summaryRE.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line is not the summary: %q", lines[len(lines)-1])
	}
	want := []string{"300", "300", "300", "270", "270", "30", "0"}
	for i, w := range want {
		if m[i+1] != w {
			t.Errorf("summary field %d = %s, want %s (%s)", i+1, m[i+1], w, lines[len(lines)-1])
		}
	}
	if strings.Contains(out.String()+errOut.String(), "guest:guest") {
		t.Error("output contains credentials")
	}
	_ = rabbit.Type
}
