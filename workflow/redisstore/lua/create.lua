-- KEYS[1] incident hash. ARGV: shard, id, seq, at, now_ms, registrar, via,
-- notices (comma separated), then the hash's field, value pairs.
local inc, shard, id, seq = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', inc) == 1 then return 'EXISTS' end
redis.call('HSET', inc, unpack(ARGV, 9))
local f = redis.call('HMGET', inc, 'state', 'priority', 'group', 'owner')
redis.call('ZADD', shard .. ':idx:all', seq, id)
reindex(shard, 'state', '', f[1], seq, id)
reindex(shard, 'priority', '', f[2], seq, id)
reindex(shard, 'group', '', f[3], seq, id)
reindex(shard, 'owner', '', f[4], seq, id)
history(inc, ARGV[4], ARGV[6], 'registered', '', f[1], '', ARGV[7])
for _, kind in ipairs(split(ARGV[8], ',')) do
  queue(shard, inc, id, kind, 1, ARGV[4], ARGV[5])
end
return 'OK'
