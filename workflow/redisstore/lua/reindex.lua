-- Adds one incident stored before the queue's filter and search indexes
-- existed (issue 12) to them; every step is idempotent. KEYS: 1 the
-- incident hash, 2 the shard's idx:unowned, 3 idx:sla:warning, 4
-- idx:sla:breached, 5 its channel's index (or the hash again, when it has
-- no channel), then the keys args.search names. ARGV[1] (reindexArgs in
-- search.go): seq, id, closed (the closed state's name), sla (the SLA
-- status its flags give, or ''), search (see common.lua's search_index,
-- or nothing). The state and owner are read here, not passed: a change
-- applied meanwhile must not be undone.
local a = cjson.decode(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'state', 'owner')
if not f[1] then return 'GONE' end
if KEYS[5] ~= KEYS[1] then redis.call('ZADD', KEYS[5], a.seq, a.id) end
if not f[2] or f[2] == '' then redis.call('ZADD', KEYS[2], a.seq, a.id) end
if f[1] ~= a.closed then
  if a.sla == 'breached' then
    redis.call('ZADD', KEYS[4], a.seq, a.id)
    redis.call('ZREM', KEYS[3], a.id)
  elseif a.sla == 'warning' and not redis.call('ZSCORE', KEYS[4], a.id) then
    redis.call('ZADD', KEYS[3], a.seq, a.id)
  end
end
search_index(a.search, KEYS[1], a.seq, a.id)
return 'OK'
