-- KEYS[1] incident hash. ARGV: shard, id, change (JSON), now_ms.
-- Picks the plan's outcome for the facts found here and applies it whole.
local inc, shard, id, now_ms = KEYS[1], ARGV[1], ARGV[2], ARGV[4]
local c = cjson.decode(ARGV[3])
local cur = redis.call('HMGET', inc, 'state', 'owner', 'seq', 'ver', 'group')
if not cur[1] then return {'NOTFOUND'} end
local state, owner, seq, ver = cur[1], cur[2] or '', cur[3], tonumber(cur[4]) + 1

local rel = 1
if owner ~= '' then
  if owner == c.plan.actor then rel = 2 else rel = 3 end
end
local pick = c.plan.pick[state]
if not pick then return {'BADSTATE', state} end
local index = pick[rel]
local o = c.plan.outcomes[index + 1]
if o.err then return {'REFUSED', index} end

local function str(v) if v == nil or v == cjson.null then return '' end return v end
local note, via = str(c.note), str(c.via)
local sets = {'ver', ver, 'updated_at', c.at}
local function set(k, v) sets[#sets + 1] = k; sets[#sets + 1] = v end

local newOwner = owner
if str(c.owner) ~= '' then newOwner = c.owner elseif o.own then newOwner = c.actor end
if newOwner ~= owner then
  reindex(shard, 'owner', owner, newOwner, seq, id)
  set('owner', newOwner)
end
if str(c.group) ~= '' and c.group ~= cur[5] then
  reindex(shard, 'group', cur[5], c.group, seq, id)
  set('group', c.group)
end
if c.level and c.level ~= cjson.null and c.level > 0 then set('level', c.level) end
if str(c.category) ~= '' then set('category', c.category) end

local path, events = o.path or {}, o.events or {}
local from = state
for i, to in ipairs(path) do
  if i == 1 then
    history(inc, c.at, c.actor, events[i], from, to, note, via)
  else
    history(inc, c.at, 'intakebot', events[i], from, to, '', '')
  end
  set('entered_' .. to, c.at)
  from = to
end
if #path == 0 then history(inc, c.at, c.actor, c.event, '', '', note, via) end
if from ~= state then
  reindex(shard, 'state', state, from, seq, id)
  set('state', from)
  if from == 'closed' then set('closed_at', c.at) end
end
if o.reopen then redis.call('HINCRBY', inc, 'reopen_count', 1) end
redis.call('HSET', inc, unpack(sets))

if c.action then redis.call('RPUSH', inc .. ':actions', cjson.encode(c.action)) end
if c.comment then redis.call('RPUSH', inc .. ':comments', cjson.encode(c.comment)) end
if c.survey then redis.call('RPUSH', inc .. ':surveys', cjson.encode(c.survey)) end
for _, kind in ipairs(o.notify or {}) do
  queue(shard, inc, id, kind, ver, c.at, now_ms)
end
return {'OK', snapshot(inc)}
