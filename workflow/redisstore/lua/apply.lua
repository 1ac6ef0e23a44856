-- Applies one change to an incident. KEYS: 1 the incident hash, 2 its
-- actions, 3 comments, 4 surveys, 5 history, 6 refs, 7 the shard's due set,
-- then the keys the argument names by index.
-- ARGV[1] (applyCall in script_args.go) is one JSON object: shard, id,
-- now_ms, at, actor, event, via, note, owner, group, level, category,
-- action, comment, survey (JSON documents), ref (the source message's id),
-- flag (a name to mark the incident with), bot (the actor of the automatic
-- steps), count (a counter field this event bumps), answer_step and
-- answer_round (a survey answer's step and the round it was asked in, when
-- the channel knows it), history_event (the history's name for the event,
-- when it is not event: "note" for an action told to the reporter),
-- known_error (a known error to link) and unlink_known_error (true: remove
-- the link); a string member left out is ''. owner_key, group_key: KEYS indexes of the index sets of the
-- new owner (the change's, else the actor, who may take ownership) and the
-- new group, when there is one. states {state: "[KEYS index of its index set, outcome index
-- with no owner, with the actor as owner, with another owner]"}; outcomes
-- ["{refused}" or "{path, events, own, reopen, notify, closes, new_round}"]
-- (0-based; new_round: the path enters a survey step, a new question);
-- outbox {channel: KEYS index of its queue}; watch (see common.lua), or
-- nothing; alerts (the agent alert the change raises when it applies: see
-- common.lua's alert), or nothing. The states' entries and the outcomes are JSON texts of their
-- own: only the ones this change needs are decoded.
-- Issue 12's queue indexes: unowned_key, sla_warning, sla_breached (KEYS
-- indexes), closed (the closed state's name), sla (the SLA status a flag
-- sets, or nothing), search (a comment's terms, see common.lua's
-- search_index, or nothing).
local a = cjson.decode(ARGV[1])
for _, k in ipairs({'actor', 'event', 'via', 'note', 'owner', 'group', 'level', 'category',
    'action', 'comment', 'survey', 'ref', 'flag', 'count', 'known_error'}) do
  a[k] = a[k] or ''
end
local inc, shard, id, at, actor = KEYS[1], a.shard, a.id, a.at, a.actor
local cur = redis.call('HMGET', inc, 'state', 'owner', 'seq', 'ver', 'group', 'level', 'category', 'reply_via', 'round')
if not cur[1] then return {'NOTFOUND'} end
local state, owner, seq, ver = cur[1], cur[2] or '', cur[3], tonumber(cur[4]) + 1
-- The survey round: the number of the question asked last (0: none yet).
local round = tonumber(cur[9] or '0') or 0

if a.ref ~= '' and redis.call('HEXISTS', KEYS[6], a.ref) == 1 then
  return {'DUP', {'id', id, 'state', state, 'owner', owner, 'ver', tostring(ver - 1)}}
end

-- An answer to an older round of the question open now (an old link or
-- button) is refused before anything is written: the round is the
-- question's identity, where a time window would not do.
if a.answer_round and a.answer_step == state and tonumber(a.answer_round) ~= round then
  return {'REPLACED', tostring(round)}
end

local entries = {}
local function entry(s)
  if not entries[s] and a.states[s] then entries[s] = cjson.decode(a.states[s]) end
  return entries[s]
end
local here = entry(state)
if not here then return {'BADSTATE', state} end
local index = here[2]
if owner ~= '' then
  if owner == actor then index = here[3] else index = here[4] end
end
local o = cjson.decode(a.outcomes[index + 1])
if o.refused then return {'REFUSED', index} end
local path, events, notify = o.path or {}, o.events or {}, o.notify or {}

-- Check everything that could stop the change before the first write: a
-- script that fails halfway keeps what it wrote.
local outbox
if #notify > 0 and cur[8] and cur[8] ~= '' then
  local i = a.outbox[cur[8]]
  if not i then return {'NOROUTE', cur[8]} end
  outbox = KEYS[i]
end
local final = path[#path] or state
if not entry(final) then return {'BADSTATE', final} end
-- An agent alert goes out once per event: a flag set before (a warning
-- raised again) raises none.
local alerts = a.alerts
if alerts and a.flag ~= '' and redis.call('HEXISTS', inc, 'flag_' .. a.flag) == 1 then alerts = nil end

-- The owner and group indexes are named by values. The new one comes in
-- KEYS (newKey); the old one is read above, so its key is built here from
-- the shard's prefix.
local function reindex(kind, old, newKey)
  if old and old ~= '' then redis.call('ZREM', shard .. ':idx:' .. kind .. ':' .. old, id)
  elseif kind == 'owner' then redis.call('ZREM', KEYS[a.unowned_key], id) end -- issue 12
  redis.call('ZADD', newKey, seq, id)
end

local sets = {'ver', ver, 'updated_at', at}
local function set(k, v) sets[#sets + 1] = k; sets[#sets + 1] = v end
-- detail says what a change did besides moving the state, old -> new.
local changes = {}
local function changed(k, old, new) changes[#changes + 1] = k .. ': ' .. (old or '') .. ' -> ' .. new end

local newOwner = owner
if a.owner ~= '' then newOwner = a.owner elseif o.own then newOwner = actor end
if newOwner ~= owner then
  reindex('owner', owner, KEYS[a.owner_key])
  set('owner', newOwner)
  changed('owner', owner, newOwner)
end
if a.group ~= '' and a.group ~= cur[5] then
  reindex('group', cur[5], KEYS[a.group_key])
  set('group', a.group)
  changed('group', cur[5], a.group)
end
if a.level ~= '' and a.level ~= cur[6] then
  set('level', a.level)
  changed('level', cur[6], a.level)
end
if a.category ~= '' and a.category ~= cur[7] then
  set('category', a.category)
  changed('category', cur[7], a.category)
end
-- The linked known error; the caller then updates the known error's own
-- list (another hash tag) with the version this change gets.
-- Read only by the changes that link or unlink: nothing on the hot path.
local curKE = ''
if a.known_error ~= '' or a.unlink_known_error then curKE = redis.call('HGET', inc, 'known_error') or '' end
if a.known_error ~= '' and a.known_error ~= curKE then
  set('known_error', a.known_error)
  changed('known_error', curKE, a.known_error)
elseif a.unlink_known_error and curKE ~= '' then
  set('known_error', '')
  changed('known_error', curKE, '')
end
local detail = table.concat(changes, '; ')

-- When the step's question was asked, for the time-to-answer metric.
local asked = ''
if a.survey ~= '' then asked = redis.call('HGET', inc, 'entered_' .. state) or '' end

local from = state
for i, to in ipairs(path) do
  if i == 1 then
    history(KEYS[5], at, actor, events[i], from, to, a.note, a.via, detail)
  else
    history(KEYS[5], at, a.bot, events[i], from, to, '', '')
  end
  set('entered_' .. to, at)
  from = to
end
if #path == 0 then history(KEYS[5], at, actor, a.history_event or a.event, '', '', a.note, a.via, detail) end
if from ~= state then
  redis.call('ZREM', KEYS[entry(state)[1]], id)
  redis.call('ZADD', KEYS[entry(from)[1]], seq, id)
  set('state', from)
  if o.closes then set('closed_at', at) end
end
-- Issue 12, the queue's SLA lists: open incidents only, the worst status.
if from == a.closed then
  redis.call('ZREM', KEYS[a.sla_warning], id)
  redis.call('ZREM', KEYS[a.sla_breached], id)
elseif a.sla == 'breached' then
  redis.call('ZADD', KEYS[a.sla_breached], seq, id)
  redis.call('ZREM', KEYS[a.sla_warning], id)
elseif a.sla == 'warning' and not redis.call('ZSCORE', KEYS[a.sla_breached], id) then
  redis.call('ZADD', KEYS[a.sla_warning], seq, id)
end
if o.new_round then
  -- A survey step entered: a new question, numbered in the same write, so
  -- that the notices queued below carry it.
  round = round + 1
  set('round', round)
end
if o.reopen then redis.call('HINCRBY', inc, 'reopen_count', 1) end
if a.flag ~= '' then set('flag_' .. a.flag, at) end
if a.count ~= '' then redis.call('HINCRBY', inc, a.count, 1) end
if a.ref ~= '' then redis.call('HSET', KEYS[6], a.ref, a.event) end
redis.call('HSET', inc, unpack(sets))

-- The action's number rides on the notices this change queues: a note
-- (notice "note") tells the reporter that action.
local actionN
if a.action ~= '' then actionN = redis.call('RPUSH', KEYS[2], a.action) end
if a.comment ~= '' then redis.call('RPUSH', KEYS[3], a.comment) end
search_index(a.search, seq, id) -- issue 12: a comment's words
if a.survey ~= '' then redis.call('RPUSH', KEYS[4], a.survey) end
if outbox then
  for _, kind in ipairs(notify) do
    -- The record's id carries the version assigned above: built here.
    queue(inc, id, kind, ver, at, a.now_ms, outbox, shard .. ':outbox:msg:' .. id .. ':' .. kind .. ':' .. ver, cur[8], round, actionN)
  end
end
if a.watch then watch(inc, shard, id, ver, at, a.now_ms, a.watch) end
if alerts then
  local group = cur[5] or ''
  if a.group ~= '' then group = a.group end
  alert(shard, id, ver, at, a.now_ms, alerts, group)
end
-- The timers look at every changed incident again (see workflow.Timers).
redis.call('ZADD', KEYS[7], a.now_ms, id)
-- Only what changed: reading the incident back here would cost a quarter
-- of the whole call (measured); callers that need it read it with Get.
return {'OK', {'id', id, 'state', from, 'owner', newOwner, 'ver', tostring(ver), 'asked', asked, 'step', state}}
