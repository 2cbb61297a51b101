package redis

import "testing"

// replyErr is a Redis error reply (goredis.Error).
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

// TestTransientInsideScript: Redis before 7 reports a command's error
// inside a script (deadLetterScript) behind "ERR Error running script":
// a transient one (OOM) is still transient, and the others are not. Redis
// 6.2 gives a refusal checked before the command with its '-' (it was
// taken for not transient: the dead letter dropped, not held).
func TestTransientInsideScript(t *testing.T) {
	for msg, want := range map[string]bool{
		"ERR Error running script (call to f_0123): @user_script:17: OOM command not allowed when used memory > 'maxmemory'.":           true,
		"ERR Error running script (call to f_0123): @user_script:17: WRONGTYPE Operation against a key holding the wrong kind of value": false,
		"OOM command not allowed when used memory > 'maxmemory'.":                                                                       true,
		// Redis 6.2's form of the refusals it checks before the command
		// (luaPushError of the reply, '-' included; the reply's CRLF sent
		// as spaces).
		"ERR Error running script (call to f_0123): @user_script:17: @user_script: 17: -OOM command not allowed when used memory > 'maxmemory'.  ": true,
		"ERR Error running script (call to f_0123): @user_script:17: @user_script: 17: -NOREPLICAS Not enough good replicas to write.  ":           true,
		"WRONGTYPE Operation against a key holding the wrong kind of value":                                                                        false,
	} {
		if got := isTransient(replyErr(msg)); got != want {
			t.Errorf("isTransient(%q) = %v, want %v", msg, got, want)
		}
	}
}
