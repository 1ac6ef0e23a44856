-- KEYS[1] incident hash. ARGV: shard, id, seq, at, now_ms, registrar, via,
-- notices (comma separated), source key ('' for none), watch ('1' queues a
-- change notice for the watchers), then the hash's field, value pairs.
-- Returns OK; EXISTS when this very report (same source key) was created
-- before; TAKEN when another incident holds the number (the counter went
-- back, as after a failover that lost writes): the caller takes another.
local inc, shard, id, seq, key = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[9]
if redis.call('EXISTS', inc) == 1 then
  if key ~= '' and redis.call('HGET', inc, 'source_key') == key then return 'EXISTS' end
  return 'TAKEN'
end
redis.call('HSET', inc, unpack(ARGV, 11))
redis.call('HSET', inc, 'source_key', key)
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
if ARGV[10] == '1' then watch(shard, inc, id, 1, ARGV[4], ARGV[5]) end
redis.call('ZADD', shard .. ':due', ARGV[5], id)
return 'OK'
