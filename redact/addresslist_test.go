package redact_test

import (
	"strings"
	"testing"

	"github.com/streambind/streambind/redact"
)

// TestURLThenSchemeLessItems: a list whose first item is a URL and the
// others are not (RabbitMQ's addresses: [amqp://][user[:pw]@]host[:port][/vhost]
// each) loses only the passwords. streambind config printed
// "amqp://guest:******@127.0.0.1:5672": the first item's virtual host and
// the second item were hidden as if they were a password.
func TestURLThenSchemeLessItems(t *testing.T) {
	cases := []struct{ in, want string }{
		{"amqp://guest:S3cr1@127.0.0.1:5672/vh1, guest:S3cr2@127.0.0.1:5672", "amqp://guest:******@127.0.0.1:5672/vh1, guest:******@127.0.0.1:5672"},
		{"amqp://guest:S3cr1@h1:5672/vh1,guest:S3cr2@h2:5672/vh2,h3", "amqp://guest:******@h1:5672/vh1,guest:******@h2:5672/vh2,h3"},
		{"amqps://u:S3cr1@h1, v:S3cr2@h2:5671", "amqps://u:******@h1, v:******@h2:5671"},
		{"amqp://h1:5672/vh, guest:S3cr2@h2", "amqp://h1:5672/vh, guest:******@h2"},
		// A ',' in a password is not such a separator: hidden as before.
		{"amqp://user:S3cr,x@host:5672/vh", "amqp://user:******@host:5672/vh"},
		{"amqp://u:S3cr@x,y@h", "amqp://u:******@h"},
		{"amqp://a:S3cr,1@h1, amqp://c:S3cr/2@h2", "amqp://a:******@h1, amqp://c:******@h2"},
	}
	for _, c := range cases {
		if got := redact.Value(c.in); got != c.want {
			t.Errorf("Value(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	out := redact.Tree(map[string]any{"addresses": "amqp://guest:S3cr1@127.0.0.1:5672/vh1, guest:S3cr2@127.0.0.1:5672"}).(map[string]any)["addresses"].(string)
	if strings.Contains(out, "S3cr") || out != "amqp://guest:******@127.0.0.1:5672/vh1, guest:******@127.0.0.1:5672" {
		t.Errorf("Tree: %q", out)
	}
	// In a log line too.
	if got := redact.String("dial amqp://guest:S3cr1@h1:5672/vh1, guest:S3cr2@h2:5672 failed"); strings.Contains(got, "S3cr") ||
		!strings.Contains(got, "/vh1") || !strings.Contains(got, "h2:5672") {
		t.Errorf("String: %q", got)
	}
}
