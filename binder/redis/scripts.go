package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

// touchScript resets the idle time of the pending entries (ARGV[3..]) that
// consumer ARGV[2] of group ARGV[1] still owns on stream KEYS[1], without
// counting a delivery, so that no other member reclaims entries the
// consumer holds. It returns two lists of IDs: those it touched, and those
// another consumer of the group owns now (reclaimed). An entry in neither
// is pending with no one: trimmed from the stream (XCLAIM drops such an
// entry from the pending list), or reclaimed and acknowledged already. An
// entry another member has claimed is left alone (XCLAIM alone would take
// it back).
var touchScript = goredis.NewScript(`
local out, taken = {}, {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if #p > 0 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    out[#out + 1] = ARGV[i]
  elseif #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1) > 0 then
    taken[#taken + 1] = ARGV[i]
  end
end
return {out, taken}
`)

// dropConsumerScript deletes consumer ARGV[2] of group ARGV[1] on stream
// KEYS[1] if it has no pending entries (deleting a consumer deletes its
// pending entries, which would lose them); it returns 1 if it did.
var dropConsumerScript = goredis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// touch runs touchScript and returns the IDs it touched and those another
// consumer owns now.
func touch(ctx context.Context, c goredis.Scripter, key string, args []any) (owned, taken []string, err error) {
	res, err := touchScript.Run(ctx, c, []string{key}, args...).Slice()
	if err != nil {
		return nil, nil, err
	}
	if len(res) != 2 {
		return nil, nil, fmt.Errorf("redis: keep-alive script: unexpected reply %v", res)
	}
	lists := [2][]string{}
	for i, r := range res {
		items, _ := r.([]any)
		for _, it := range items {
			if id, ok := it.(string); ok {
				lists[i] = append(lists[i], id)
			}
		}
	}
	return lists[0], lists[1], nil
}

// deadLetterScript writes a failed entry's dead letter and acknowledges
// the entry in one step, and only while the entry is still pending with
// this member, so that an attempt whose reply was lost (a timeout, a cut
// connection: Redis ran it) and the attempt after it store one dead
// letter, not two. KEYS[1] is the dead-letter stream, KEYS[2] the entry's
// stream; ARGV[1] the group, ARGV[2] the member, ARGV[3] the entry ID,
// ARGV[4] the dead-letter stream's MAXLEN ~ ("0": none), ARGV[5..] the
// dead letter's fields and values (none: check only, see
// deadLetterTooMany). It returns dlWritten (written and acknowledged; or,
// checking only, still pending with the member), dlSettled (pending with
// nobody: an earlier attempt wrote it — or another member that had
// reclaimed the entry settled it — and it is not written again), dlTaken
// (another member owns it now: its to settle) or dlNoGroup (the group or
// the stream is gone, so nothing tells: written without an
// acknowledgement, as before the check; checking only, not written).
// Every command is a stream command (+@stream and +eval in the ACL list
// of the package doc).
var deadLetterScript = goredis.NewScript(`
local p = redis.pcall('XPENDING', KEYS[2], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
local state = 0
if type(p) == 'table' and p.err then
  state = 3
elseif #p == 0 then
  if #redis.call('XPENDING', KEYS[2], ARGV[1], ARGV[3], ARGV[3], 1) > 0 then return 2 end
  return 1
end
if #ARGV < 5 then return state end
local a = {KEYS[1]}
if ARGV[4] ~= '0' then
  a[#a + 1] = 'MAXLEN'; a[#a + 1] = '~'; a[#a + 1] = ARGV[4]
end
a[#a + 1] = '*'
for i = 5, #ARGV do a[#a + 1] = ARGV[i] end
redis.call('XADD', unpack(a))
if state == 0 then redis.call('XACK', KEYS[2], ARGV[1], ARGV[3]) end
return state
`)

// The results of deadLetterScript.
const (
	dlWritten = 0
	dlSettled = 1
	dlTaken   = 2
	dlNoGroup = 3
)

// deadLetterTooMany is the most field names and values a dead letter may
// have to be written by deadLetterScript: Redis's Lua passes at most
// about 8,000 values to a command (unpack: "too many results to
// unpack"). A dead letter with more (some 3,500 headers and more) is
// checked by the script and then written and acknowledged in one
// MULTI/EXEC: a retry after a lost reply still finds it acknowledged, but
// an earlier attempt that reaches Redis only after the retry's check (held
// up on the way, not lost) stores it a second time.
const deadLetterTooMany = 7000
