-- Adds a child to a parent incident's children, or removes it (outage
-- grouping). KEYS: 1 the parent's hash, 2 its history.
-- ARGV[1] (groupArgs): op (add|remove|join: others, the reports that
-- joined its outage at registration), other (the child), at, actor, via,
-- note, states (add and join: the states the parent may take children in),
-- id (the parent), shard, now_ms, watch (nil, or the change notice for
-- the watchers: see common.lua).
-- Returns OK (also when there was nothing to do: a retry changes nothing
-- twice), NOTFOUND, STATE (the parent is in another state), NESTED (the
-- parent is itself a child).
local a = cjson.decode(ARGV[1])
local inc = KEYS[1]
if redis.call('EXISTS', inc) == 0 then return 'NOTFOUND' end
local f = redis.call('HMGET', inc, 'children', 'state', 'parent_id')
local children = f[1] or ''
if a.op == 'join' then
  -- Reports that joined its outage at registration (a.others): the list
  -- alone changes, once for them all. No history entry, change notice or
  -- new version: an outage may gather thousands of reports in minutes,
  -- and each would make every later join and read of the parent cost
  -- more, and tell an agent working it that it changed meanwhile.
  if (f[3] or '') ~= '' then return 'NESTED' end
  local ok = false
  for _, s in ipairs(a.states) do if s == f[2] then ok = true end end
  if not ok then return 'STATE' end
  -- Whether each is listed: a plain find in the list for a few (one
  -- report at a time is the common case, and the list may hold
  -- thousands), a set of the list for a batch's many.
  local padded = ' ' .. children .. ' '
  local listed = {}
  if #a.others > 8 then
    for c in string.gmatch(children, '%S+') do listed[c] = true end
  end
  local add = {}
  for _, c in ipairs(a.others) do
    if not listed[c] and (#a.others > 8 or not string.find(padded, ' ' .. c .. ' ', 1, true)) then
      listed[c] = true; add[#add + 1] = c
    end
  end
  if #add == 0 then return 'OK' end
  if children ~= '' then table.insert(add, 1, children) end
  redis.call('HSET', inc, 'children', table.concat(add, ' '))
  return 'OK'
end
-- A plain find and an append, not a walk over the list: an outage may
-- gather thousands of reports, and each join must stay cheap.
local n = #a.other
local found = children == a.other or string.sub(children, 1, n + 1) == a.other .. ' ' or
  string.sub(children, -n - 1) == ' ' .. a.other or string.find(children, ' ' .. a.other .. ' ', 1, true) ~= nil
if a.op == 'add' then
  if found then return 'OK' end
  if (f[3] or '') ~= '' then return 'NESTED' end
  local ok = false
  for _, s in ipairs(a.states) do if s == f[2] then ok = true end end
  if not ok then return 'STATE' end
  if children == '' then children = a.other else children = children .. ' ' .. a.other end
  history(KEYS[2], a.at, a.actor, 'grouped', '', '', a.note, a.via, 'child:  -> ' .. a.other)
else
  if not found then return 'OK' end
  local list = {}
  for c in string.gmatch(children, '%S+') do
    if c ~= a.other then table.insert(list, c) end
  end
  children = table.concat(list, ' ')
  history(KEYS[2], a.at, a.actor, 'ungrouped', '', '', a.note, a.via, 'child: ' .. a.other .. ' -> –')
end
redis.call('HSET', inc, 'children', children, 'updated_at', a.at)
local ver = redis.call('HINCRBY', inc, 'ver', 1)
if a.watch then watch(inc, a.shard, a.id, ver, a.at, a.now_ms, a.watch) end
return 'OK'
