-- KEYS[1] incident hash. ARGV: shard, id, seq, fields (JSON array of
-- field, value), at, now_ms, notices (JSON array), actor, via.
local inc, shard, id, seq = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', inc) == 1 then
  return {'EXISTS', snapshot(inc)}
end
local fields = cjson.decode(ARGV[4])
redis.call('HSET', inc, unpack(fields))
local f = redis.call('HMGET', inc, 'state', 'priority', 'group', 'owner')
redis.call('ZADD', shard .. ':idx:all', seq, id)
reindex(shard, 'state', '', f[1], seq, id)
reindex(shard, 'priority', '', f[2], seq, id)
reindex(shard, 'group', '', f[3], seq, id)
reindex(shard, 'owner', '', f[4], seq, id)
history(inc, ARGV[5], ARGV[8], 'registered', '', f[1], '', ARGV[9])
for _, kind in ipairs(cjson.decode(ARGV[7])) do
  queue(shard, inc, id, kind, 1, ARGV[5], ARGV[6])
end
return {'OK', snapshot(inc)}
