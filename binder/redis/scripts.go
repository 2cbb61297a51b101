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
