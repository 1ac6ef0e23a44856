-- Shared by every script (prepended by the Go side). All keys one script
-- touches share the shard's hash tag, so each script is atomic on a single
-- Redis and on Redis Cluster alike. Arguments come as plain strings rather
-- than JSON: cjson.decode was most of a transition's cost.

local function snapshot(inc)
  return {
    redis.call('HGETALL', inc),
    redis.call('LRANGE', inc .. ':actions', 0, -1),
    redis.call('LRANGE', inc .. ':comments', 0, -1),
    redis.call('LRANGE', inc .. ':surveys', 0, -1),
    redis.call('XRANGE', inc .. ':history', '-', '+'),
    redis.call('LRANGE', inc .. ':attachments', 0, -1),
  }
end

local function history(inc, at, actor, event, from, to, note, via, detail)
  redis.call('XADD', inc .. ':history', '*', 'at', at, 'actor', actor, 'event', event,
    'from', from, 'to', to, 'note', note, 'via', via, 'detail', detail or '')
end

local function split(s, sep)
  local out = {}
  if s == '' then return out end
  for part in string.gmatch(s, '([^' .. sep .. ']+)') do out[#out + 1] = part end
  return out
end

-- queue writes a message to the reporter into the shard's outbox; its id
-- (incident, kind, version) is the idempotency key, so one notice of one
-- version is never queued twice. round is the incident's survey round as
-- the change left it: a question carries it to its delivery, where one
-- whose round was answered or replaced meanwhile is dropped.
local function queue(shard, inc, id, kind, ver, at, now_ms, round)
  local f = redis.call('HMGET', inc, 'reply_via', 'lang', 'email', 'slack_id')
  if not f[1] or f[1] == '' then return end
  local mid = id .. ':' .. kind .. ':' .. ver
  local rec = shard .. ':outbox:msg:' .. mid
  if redis.call('EXISTS', rec) == 1 then return end
  redis.call('HSET', rec, 'id', mid, 'incident', id, 'kind', kind, 'channel', f[1], 'lang', f[2],
    'email', f[3] or '', 'slack_id', f[4] or '', 'created_at', at, 'attempts', 0, 'last_error', '',
    'round', round or 0)
  redis.call('ZADD', shard .. ':outbox:' .. f[1], now_ms, mid)
end

-- watch queues a change notice for the watchers (the Slack triage channel
-- and open Slack prompts) on the 'watch' route. Each delivery shows the
-- incident as it is then, so only the newest notice is kept: the one it
-- replaces would show the same.
local function watch(shard, inc, id, ver, at, now_ms)
  local mid = id .. ':change:' .. ver
  local route = shard .. ':outbox:watch'
  local last = redis.call('HGET', inc, 'watch_mid')
  if last and last ~= mid then
    redis.call('ZREM', route, last)
    redis.call('ZREM', shard .. ':outbox:dead:watch', last)
    redis.call('DEL', shard .. ':outbox:msg:' .. last)
  end
  redis.call('HSET', shard .. ':outbox:msg:' .. mid, 'id', mid, 'incident', id, 'kind', 'change', 'channel', 'watch',
    'lang', redis.call('HGET', inc, 'lang') or '', 'email', '', 'slack_id', '', 'created_at', at, 'attempts', 0, 'last_error', '')
  redis.call('ZADD', route, now_ms, mid)
  redis.call('HSET', inc, 'watch_mid', mid)
end

local function reindex(shard, kind, old, new, seq, id)
  if old == new then return end
  if old and old ~= '' then redis.call('ZREM', shard .. ':idx:' .. kind .. ':' .. old, id) end
  if new and new ~= '' then redis.call('ZADD', shard .. ':idx:' .. kind .. ':' .. new, seq, id) end
end
