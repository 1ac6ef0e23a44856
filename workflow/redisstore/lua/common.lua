-- Shared by the incident scripts (prepended by the Go side).
--
-- The contract with Go (script_args.go builds both sides' shape):
-- * Every key a script touches comes in KEYS, except the few whose names
--   hold a value the script itself reads or assigns (the index of an owner
--   or group read from the hash, an outbox message whose id carries the
--   version this very call assigns). Those are built from args.shard, the
--   hash-tagged prefix that every key of the call shares, so a script never
--   leaves its slot on Redis Cluster.
-- * A script with more than a few arguments takes one JSON document in
--   ARGV[1], with named fields, decoded once at its top.
-- * Lua decides nothing of its own: names (events, actors, channels, notice
--   kinds) and rules (which state stamps closed_at, which event bumps a
--   counter) come in the arguments, computed by Go from the workflow plan.

-- history appends an entry to an incident's history: a list of JSON
-- arrays [at, actor, event, from, to, note, via, detail] (issue 11: the
-- stream it was before cost ~1 KB of every incident, a list of two
-- entries ~300 bytes). An incident stored before keeps its stream.
local function history(key, at, actor, event, from, to, note, via, detail)
  if redis.call('TYPE', key).ok == 'stream' then
    redis.call('XADD', key, '*', 'at', at, 'actor', actor, 'event', event,
      'from', from, 'to', to, 'note', note, 'via', via, 'detail', detail or '')
    return
  end
  redis.call('RPUSH', key, cjson.encode({at, actor, event, from, to, note, via, detail or ''}))
end

-- history_entries is an incident's history: a list's JSON entries, or an
-- older incident's stream entries ({id, {field, value, ...}}).
local function history_entries(key)
  if redis.call('TYPE', key).ok == 'stream' then return redis.call('XRANGE', key, '-', '+') end
  return redis.call('LRANGE', key, 0, -1)
end

-- queue writes a message to the reporter into its channel's outbox. Its id
-- (incident, kind, version) is the idempotency key, so one notice of one
-- version is never queued twice. queue_key is the outbox of the reporter's
-- channel; msg its record (built from the version when the script assigns it).
-- round is the incident's survey round as the change left it: a question
-- carries it to its delivery, where one whose round was answered or
-- replaced meanwhile is dropped. action, when the change recorded one, is
-- its number in the actions list: the one a note tells.
local function queue(inc, id, kind, ver, at, now_ms, queue_key, msg, channel, round, action)
  local f = redis.call('HMGET', inc, 'lang', 'email', 'slack_id')
  if redis.call('EXISTS', msg) == 1 then return end
  redis.call('HSET', msg, 'id', id .. ':' .. kind .. ':' .. ver, 'incident', id, 'kind', kind, 'channel', channel,
    'lang', f[1] or '', 'email', f[2] or '', 'slack_id', f[3] or '', 'created_at', at, 'attempts', 0, 'last_error', '',
    'round', round or 0)
  if action then redis.call('HSET', msg, 'action', action) end
  redis.call('ZADD', queue_key, now_ms, id .. ':' .. kind .. ':' .. ver)
end

-- watch queues a change notice for the watchers (the Slack triage channel
-- and open Slack prompts) on the watch route. Each delivery shows the
-- incident as it is then, so only the newest notice is kept: the one it
-- replaces would show the same. w: kind, channel (the route's name) and the
-- KEYS indexes of the route's queue and dead letters.
local function watch(inc, shard, id, ver, at, now_ms, w)
  local mid = id .. ':' .. w.kind .. ':' .. ver
  local route, dead = KEYS[w.queue], KEYS[w.dead]
  local last = redis.call('HGET', inc, 'watch_mid')
  if last and last ~= mid then
    redis.call('ZREM', route, last)
    redis.call('ZREM', dead, last)
    -- Named by a value read above: built from the shard's prefix.
    redis.call('DEL', shard .. ':outbox:msg:' .. last)
  end
  redis.call('HSET', shard .. ':outbox:msg:' .. mid, 'id', mid, 'incident', id, 'kind', w.kind, 'channel', w.channel,
    'lang', redis.call('HGET', inc, 'lang') or '', 'email', '', 'slack_id', '', 'created_at', at, 'attempts', 0, 'last_error', '')
  redis.call('ZADD', route, now_ms, mid)
  redis.call('HSET', inc, 'watch_mid', mid)
end

-- alert queues an agent alert (a mail to an agent or group, a webhook
-- post) for each target that takes the incident's group: a message of its
-- own per target, so each retries and dead-letters alone. Its id
-- (incident, kind, version, target's place) makes it idempotent like a
-- notice. al: kind, alert, targets ({queue: KEYS index, channel, email,
-- lang, target, groups (nil: every group)}). group is the incident's
-- group as the change leaves it.
local function alert(shard, id, ver, at, now_ms, al, group)
  for i, t in ipairs(al.targets) do
    local takes = not t.groups
    for _, g in ipairs(t.groups or {}) do
      if g == group then takes = true end
    end
    local mid = id .. ':' .. al.kind .. ':' .. ver .. ':' .. (i - 1)
    -- Named by the version this call assigns: built from the shard's prefix.
    local msg = shard .. ':outbox:msg:' .. mid
    if takes and redis.call('EXISTS', msg) == 0 then
      redis.call('HSET', msg, 'id', mid, 'incident', id, 'kind', al.kind, 'channel', t.channel, 'lang', t.lang or '',
        'email', t.email or '', 'slack_id', '', 'created_at', at, 'attempts', 0, 'last_error', '',
        'alert', al.alert, 'target', t.target or '')
      redis.call('ZADD', KEYS[t.queue], now_ms, mid)
    end
  end
end

-- search_index adds an incident's search terms to the shard's term
-- indexes (issue 12; searchArgs in search.go). The hash does not keep its
-- terms (the archive recomputes them, search.go): a term indexed before is
-- added again, which changes nothing (same member, same score). s.dict is
-- the KEYS index of the shard's term dictionary, s.keys[i] of s.terms[i]'s
-- bucket of this incident (number s.bucket), s.buckets[i] of the set of
-- that term's buckets.
local function search_index(s, seq, id)
  if not s then return end
  local dict = {'ZADD', KEYS[s.dict]}
  for i, t in ipairs(s.terms) do
    local bucket = KEYS[s.keys[i]]
    if redis.call('EXISTS', bucket) == 0 then redis.call('ZADD', KEYS[s.buckets[i]], s.bucket, s.bucket) end
    redis.call('ZADD', bucket, seq, id)
    dict[#dict + 1] = 0; dict[#dict + 1] = t
    -- One call for the dictionary per 500 terms: a registration adds
    -- dozens, and unpack has a limit (a reindexed incident's comments
    -- may bring thousands).
    if #dict > 1000 then redis.call(unpack(dict)); dict = {'ZADD', KEYS[s.dict]} end
  end
  if #dict > 2 then redis.call(unpack(dict)) end
end
