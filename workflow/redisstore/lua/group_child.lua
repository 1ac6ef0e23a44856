-- Sets or clears a child incident's parent (outage grouping). KEYS: 1 the
-- child's hash, 2 its history. ARGV[1] (groupArgs): op (add|remove),
-- other (the parent), at, actor, via, note, id, shard, now_ms, watch.
-- Returns OK (also when there was nothing to do), NOTFOUND, GROUPED (add:
-- it has another parent), PARENT (add: it has children of its own).
local a = cjson.decode(ARGV[1])
local inc = KEYS[1]
if redis.call('EXISTS', inc) == 0 then return 'NOTFOUND' end
local f = redis.call('HMGET', inc, 'parent_id', 'children')
local parent = f[1] or ''
if a.op == 'add' then
  if parent == a.other then return 'OK' end
  if parent ~= '' then return 'GROUPED' end
  if (f[2] or '') ~= '' then return 'PARENT' end
  redis.call('HSET', inc, 'parent_id', a.other)
  history(KEYS[2], a.at, a.actor, 'grouped', '', '', a.note, a.via, 'parent:  -> ' .. a.other)
else
  if parent ~= a.other then return 'OK' end
  redis.call('HSET', inc, 'parent_id', '')
  history(KEYS[2], a.at, a.actor, 'ungrouped', '', '', a.note, a.via, 'parent: ' .. a.other .. ' -> –')
end
redis.call('HSET', inc, 'updated_at', a.at)
local ver = redis.call('HINCRBY', inc, 'ver', 1)
if a.watch then watch(inc, a.shard, a.id, ver, a.at, a.now_ms, a.watch) end
return 'OK'
