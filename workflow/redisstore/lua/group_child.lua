-- Sets or clears a child incident's parent (outage grouping). KEYS: 1 the
-- child's hash, 2 its history. ARGV[1] (groupArgs): op (add|remove),
-- other (the parent), at, actor, via, note, id, shard, now_ms, watch.
-- states (add, optional): the states the child may be grouped in.
-- Returns OK (also when there was nothing to do), NOTFOUND, GROUPED (add:
-- it has another parent), PARENT (add: it has children of its own),
-- STATE (add: it is in none of states).
local a = cjson.decode(ARGV[1])
local inc = KEYS[1]
if redis.call('EXISTS', inc) == 0 then return 'NOTFOUND' end
local f = redis.call('HMGET', inc, 'parent_id', 'children', 'state')
local parent = f[1] or ''
if a.op == 'add' then
  if parent == a.other then return 'OK' end
  if parent ~= '' then return 'GROUPED' end
  if (f[2] or '') ~= '' then return 'PARENT' end
  if a.states then
    local ok = false
    for _, s in ipairs(a.states) do if s == f[3] then ok = true end end
    if not ok then return 'STATE' end
  end
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
