-- Removes one archived incident and leaves its tombstone. KEYS: 1 the
-- incident hash, 2 its bucket of the shard's tombstones, 3 the shard's
-- idx:all, 4 the shard's due set, then the incident's other keys
-- (actions, comments, surveys, history, refs, people, attachments,
-- attrefs), then every route's outbox queue, dead letters and dropped
-- questions. ARGV: id, the version the archive file holds, the tombstone,
-- the closed state's name, the shard's prefix, its search terms
-- (space-separated, recomputed from its texts: incidentTerms in
-- search.go), its number, the numbers one bucket spans, then the ids of
-- its messages still queued, dead-lettered or kept as dropped. The index
-- keys and attachment contents are named by values read here, so they are
-- built from the prefix (same hash tag).
-- Returns DONE when a former call removed it, GONE when it is neither here
-- nor tombstoned, CHANGED when it changed after it was written (it stays,
-- for the next run), else OK.
local inc, id = KEYS[1], ARGV[1]
if redis.call('EXISTS', inc) == 0 then
  -- A tombstone in its bucket, or in the one hash a former version kept.
  if redis.call('HEXISTS', KEYS[2], id) == 1 or redis.call('HEXISTS', ARGV[5] .. ':archived', id) == 1 then return 'DONE' end
  return 'GONE'
end
local f = redis.call('HMGET', inc, 'ver', 'state', 'priority', 'group', 'owner', 'watch_mid', 'channel', 'terms')
if f[1] ~= ARGV[2] or f[2] ~= ARGV[4] then return 'CHANGED' end
local shard = ARGV[5]
for i = 0, redis.call('LLEN', inc .. ':attachments') - 1 do redis.call('DEL', inc .. ':att:' .. i) end
if f[6] then redis.call('DEL', shard .. ':outbox:msg:' .. f[6]) end
for i = 5, 12 do redis.call('DEL', KEYS[i]) end
for j = 9, #ARGV do
  for i = 13, #KEYS do redis.call('ZREM', KEYS[i], ARGV[j]) end
  redis.call('DEL', shard .. ':outbox:msg:' .. ARGV[j])
end
redis.call('DEL', inc)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
redis.call('ZREM', shard .. ':idx:state:' .. f[2], id)
if f[3] and f[3] ~= '' then redis.call('ZREM', shard .. ':idx:priority:' .. f[3], id) end
if f[4] and f[4] ~= '' then redis.call('ZREM', shard .. ':idx:group:' .. f[4], id) end
if f[5] and f[5] ~= '' then redis.call('ZREM', shard .. ':idx:owner:' .. f[5], id) end
-- Issue 12: the queue's filter and search indexes (search.go).
if f[7] and f[7] ~= '' then redis.call('ZREM', shard .. ':idx:channel:' .. f[7], id) end
redis.call('ZREM', shard .. ':idx:unowned', id)
redis.call('ZREM', shard .. ':idx:sla:warning', id)
redis.call('ZREM', shard .. ':idx:sla:breached', id)
-- Its terms: those given, and those an incident stored before that
-- version kept in its hash's 'terms' field, read above.
local terms = {}
for t in string.gmatch(ARGV[6] .. ' ' .. (f[8] or ''), '%S+') do terms[t] = true end
local b = math.floor(tonumber(ARGV[7]) / tonumber(ARGV[8]))
for t in pairs(terms) do
  local ix = shard .. ':idx:tb:' .. t
  redis.call('ZREM', ix .. ':' .. b, id)
  -- An empty bucket leaves the term's set of buckets, a term no incident
  -- holds any more the dictionary.
  if redis.call('EXISTS', ix .. ':' .. b) == 0 then redis.call('ZREM', ix, b) end
  if redis.call('EXISTS', ix) == 0 then redis.call('ZREM', shard .. ':idx:terms', t) end
end
-- The tombstone ends with the reporter's hash, the reporter index's name.
local rh = string.match(ARGV[3], '^%S+ %S+ (%x+)$')
if rh then redis.call('ZREM', shard .. ':idx:reporter:' .. rh, id) end
redis.call('HSET', KEYS[2], id, ARGV[3])
return 'OK'
