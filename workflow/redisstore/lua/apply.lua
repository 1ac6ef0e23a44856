-- KEYS[1] incident hash. ARGV: shard, id, now_ms, at, actor, event, via,
-- note, owner, group, level, category, action, comment, survey (JSON or ''),
-- ref (the source message's id, or ''), watch ('1' queues a change notice
-- for the watchers), flag (a name to mark the incident with, or ''), pick,
-- round_states (",validation,satisfaction,": entering one of them asks a
-- new survey round), answer_step and answer_round (a survey answer's step
-- and the round it was asked in, or ''), then one outcome per plan index.
--
-- pick is ";state=none,self,other;..." giving, for each state and owner
-- relation, the plan index of the outcome. An outcome is "ERR" (refused:
-- the caller knows why) or "path|events|own|reopen|notify" with
-- comma-separated lists.
local inc, shard, id, now_ms, at = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local actor, event, via, note = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local cur = redis.call('HMGET', inc, 'state', 'owner', 'seq', 'ver', 'group', 'level', 'category', 'round')
if not cur[1] then return {'NOTFOUND'} end
local state, owner, seq, ver = cur[1], cur[2] or '', cur[3], tonumber(cur[4]) + 1
local round = tonumber(cur[8] or '0') or 0

local ref = ARGV[16]
if ref ~= '' and redis.call('HEXISTS', inc .. ':refs', ref) == 1 then
  return {'DUP', {'id', id, 'state', state, 'owner', owner, 'ver', tostring(ver - 1)}}
end

local none, self, other = string.match(ARGV[19], ';' .. state .. '=(%d+),(%d+),(%d+)')
if not none then return {'BADSTATE', state} end
local index = none
if owner ~= '' then
  if owner == actor then index = self else index = other end
end
-- An answer to an older round of the question open now: an old link or
-- button. Refused before anything is written (the round is the question's
-- identity, a time window would not do).
if ARGV[21] ~= '' and ARGV[21] == state and tonumber(ARGV[22]) ~= round then
  return {'REPLACED', tostring(round)}
end
local spec = ARGV[23 + tonumber(index)]
if spec == 'ERR' then return {'REFUSED', tonumber(index)} end
local parts = {}
for p in string.gmatch(spec .. '|', '([^|]*)|') do parts[#parts + 1] = p end
local path, events, own, reopen, notify = split(parts[1], ','), split(parts[2], ','), parts[3] == '1', parts[4] == '1', split(parts[5], ',')

local sets = {'ver', ver, 'updated_at', at}
local function set(k, v) sets[#sets + 1] = k; sets[#sets + 1] = v end
-- detail says what a change did besides moving the state, old -> new.
local changes = {}
local function changed(k, old, new) changes[#changes + 1] = k .. ': ' .. (old or '') .. ' -> ' .. new end

local newOwner = owner
if ARGV[9] ~= '' then newOwner = ARGV[9] elseif own then newOwner = actor end
if newOwner ~= owner then
  reindex(shard, 'owner', owner, newOwner, seq, id)
  set('owner', newOwner)
  changed('owner', owner, newOwner)
end
if ARGV[10] ~= '' and ARGV[10] ~= cur[5] then
  reindex(shard, 'group', cur[5], ARGV[10], seq, id)
  set('group', ARGV[10])
  changed('group', cur[5], ARGV[10])
end
if ARGV[11] ~= '' and ARGV[11] ~= cur[6] then
  set('level', ARGV[11])
  changed('level', cur[6], ARGV[11])
end
if ARGV[12] ~= '' and ARGV[12] ~= cur[7] then
  set('category', ARGV[12])
  changed('category', cur[7], ARGV[12])
end
local detail = table.concat(changes, '; ')

-- When the step's question was asked, for the time-to-answer metric.
local asked = ''
if ARGV[15] ~= '' then asked = redis.call('HGET', inc, 'entered_' .. state) or '' end

local from = state
for i, to in ipairs(path) do
  if i == 1 then
    history(inc, at, actor, events[i], from, to, note, via, detail)
  else
    history(inc, at, 'intakebot', events[i], from, to, '', '')
  end
  set('entered_' .. to, at)
  if string.find(ARGV[20], ',' .. to .. ',', 1, true) then
    -- A survey step entered: a new question, numbered on the incident in
    -- the same write, so that the notices queued below carry it.
    round = round + 1
    set('round', round)
  end
  from = to
end
if #path == 0 then history(inc, at, actor, event, '', '', note, via, detail) end
if from ~= state then
  reindex(shard, 'state', state, from, seq, id)
  set('state', from)
  if from == 'closed' then set('closed_at', at) end
end
if reopen then redis.call('HINCRBY', inc, 'reopen_count', 1) end
if ARGV[18] ~= '' then set('flag_' .. ARGV[18], at) end
if event == 'repeat' then redis.call('HINCRBY', inc, 'repeats', 1) end
if ref ~= '' then redis.call('HSET', inc .. ':refs', ref, event) end
redis.call('HSET', inc, unpack(sets))

if ARGV[13] ~= '' then redis.call('RPUSH', inc .. ':actions', ARGV[13]) end
if ARGV[14] ~= '' then redis.call('RPUSH', inc .. ':comments', ARGV[14]) end
if ARGV[15] ~= '' then redis.call('RPUSH', inc .. ':surveys', ARGV[15]) end
for _, kind in ipairs(notify) do
  queue(shard, inc, id, kind, ver, at, now_ms, round)
end
if ARGV[17] == '1' then watch(shard, inc, id, ver, at, now_ms) end
-- The timers look at every changed incident again (see workflow.Timers).
redis.call('ZADD', shard .. ':due', now_ms, id)
-- Only what changed: reading the incident back here would cost a quarter
-- of the whole call (measured); callers that need it read it with Get.
return {'OK', {'id', id, 'state', from, 'owner', newOwner, 'ver', tostring(ver), 'asked', asked, 'step', state}}
