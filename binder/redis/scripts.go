package redis

import goredis "github.com/redis/go-redis/v9"

// touchScript resets the idle time of the pending entries (ARGV[3..]) that
// consumer ARGV[2] of group ARGV[1] still owns on stream KEYS[1], without
// counting a delivery, so that no other member reclaims entries the
// consumer holds; it returns the IDs it touched. An entry another member
// has claimed meanwhile is left alone (XCLAIM alone would take it back).
var touchScript = goredis.NewScript(`
local out = {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if #p > 0 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    out[#out + 1] = ARGV[i]
  end
end
return out
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
