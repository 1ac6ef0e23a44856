-- Stores a new incident. KEYS: 1 the incident hash, 2 its history, 3 the
-- shard's idx:all, 4 the shard's due set, then the keys args names by index.
-- ARGV[1] (createArgs): id, seq, at, now_ms, registrar, via, event (of the
-- history entry), source_key ('' for none), fields (the hash's field, value
-- pairs), indexes (KEYS indexes of the index sets to add the incident to),
-- notices ({kind, msg}: its record's KEYS index), queue (KEYS index of the
-- reporter's outbox, 0 when there are no notices), channel (its name),
-- watch (nil, or the change notice: see common.lua's watch, plus msg),
-- shard (the hash-tagged prefix of every key), alerts (nil, or the
-- agent alert "new": see common.lua's alert),
-- parent ('' or the outage's incident this one is grouped under at once) and
-- search (nil, or the terms to index: see common.lua's search_index).
-- Returns OK; EXISTS when this very report (same source key) was created
-- before; TAKEN when another incident holds the number (the counter went
-- back, as after a failover that lost writes): the caller takes another.
local a = cjson.decode(ARGV[1])
local inc = KEYS[1]
if redis.call('EXISTS', inc) == 1 then
  if a.source_key ~= '' and redis.call('HGET', inc, 'source_key') == a.source_key then return 'EXISTS' end
  return 'TAKEN'
end
redis.call('HSET', inc, unpack(a.fields))
redis.call('HSET', inc, 'source_key', a.source_key)
redis.call('ZADD', KEYS[3], a.seq, a.id)
for _, i in ipairs(a.indexes) do redis.call('ZADD', KEYS[i], a.seq, a.id) end
search_index(a.search, inc, a.seq, a.id) -- issue 12: the search index
history(KEYS[2], a.at, a.registrar, a.event, '', a.state, '', a.via)
if a.parent and a.parent ~= '' then
  history(KEYS[2], a.at, a.registrar, 'grouped', '', '', '', a.via, 'parent:  -> ' .. a.parent)
end
for _, n in ipairs(a.notices or {}) do
  queue(inc, a.id, n.kind, 1, a.at, a.now_ms, KEYS[a.queue], KEYS[n.msg], a.channel)
end
if a.watch then
  -- The record of version 1 is known in advance: it came in KEYS.
  redis.call('HSET', KEYS[a.watch.msg], 'id', a.id .. ':' .. a.watch.kind .. ':1', 'incident', a.id, 'kind', a.watch.kind,
    'channel', a.watch.channel, 'lang', redis.call('HGET', inc, 'lang') or '', 'email', '', 'slack_id', '',
    'created_at', a.at, 'attempts', 0, 'last_error', '')
  redis.call('ZADD', KEYS[a.watch.queue], a.now_ms, a.id .. ':' .. a.watch.kind .. ':1')
  redis.call('HSET', inc, 'watch_mid', a.id .. ':' .. a.watch.kind .. ':1')
end
if a.alerts then
  alert(a.shard, a.id, 1, a.at, a.now_ms, a.alerts, redis.call('HGET', inc, 'group') or '')
end
redis.call('ZADD', KEYS[4], a.now_ms, a.id)
return 'OK'
