-- Writes one CI's open outages (outage grouping). KEYS[1]: the CI's
-- outage hash: v (its version), o:ID (kind E|R, a space, the parent
-- report's terms), l:ID (when its last report came, ms).
-- ARGV[1] (outageArgs): op, id, version, now_ms, window_ms, rec.
-- * claim: the report opens an outage of its own, unless another
--   report changed the outages since the caller read them (version):
--   then CONFLICT, and the caller reads and decides again. So of two
--   concurrent alike reports, exactly one becomes the parent.
-- * event: an alert's incident opens an outage, whatever is there.
-- * join: a report joins outage id (its last report time moves on);
--   CONFLICT when that outage is gone meanwhile.
-- * batch: the decisions of several reports made on one read, in order
--   (ops: {op claim|join, id, terms}): applied all together, unless the
--   outages changed since version (CONFLICT: nothing applied).
-- * drop: outage id ended (its parent closed or left analysis).
-- Outages of reports (not events) whose last report is older than the
-- window are dropped on the way. Returns OK or CONFLICT.
local a = cjson.decode(ARGV[1])
local key = KEYS[1]
local now = tonumber(a.now_ms)
-- A batch's decisions were made on the outages as read, expired ones
-- already left out: the version is checked before those are dropped,
-- which changes no decision.
if a.op == 'batch' and tostring(redis.call('HGET', key, 'v') or '0') ~= a.version then return 'CONFLICT' end
local h = redis.call('HGETALL', key)
for i = 1, #h, 2 do
  local id = string.match(h[i], '^o:(.+)$')
  if id and string.sub(h[i + 1], 1, 1) == 'R' then
    local last = tonumber(redis.call('HGET', key, 'l:' .. id) or '0')
    if last + tonumber(a.window_ms) < now then
      redis.call('HDEL', key, 'o:' .. id, 'l:' .. id)
      redis.call('HINCRBY', key, 'v', 1)
    end
  end
end
if a.op == 'claim' then
  if tostring(redis.call('HGET', key, 'v') or '0') ~= a.version then return 'CONFLICT' end
  redis.call('HSET', key, 'o:' .. a.id, 'R ' .. a.terms, 'l:' .. a.id, now)
  redis.call('HINCRBY', key, 'v', 1)
elseif a.op == 'event' then
  redis.call('HSET', key, 'o:' .. a.id, 'E ' .. a.terms, 'l:' .. a.id, now)
  redis.call('HINCRBY', key, 'v', 1)
elseif a.op == 'join' then
  if redis.call('HEXISTS', key, 'o:' .. a.id) == 0 then return 'CONFLICT' end
  redis.call('HSET', key, 'l:' .. a.id, now)
elseif a.op == 'batch' then
  -- Several reports' decisions made on one read (groupMany), checked
  -- above: all of them.
  for _, o in ipairs(a.ops) do
    if o.op == 'claim' then
      redis.call('HSET', key, 'o:' .. o.id, 'R ' .. o.terms, 'l:' .. o.id, now)
      redis.call('HINCRBY', key, 'v', 1)
    else
      redis.call('HSET', key, 'l:' .. o.id, now)
    end
  end
elseif a.op == 'drop' then
  if redis.call('HDEL', key, 'o:' .. a.id, 'l:' .. a.id) > 0 then redis.call('HINCRBY', key, 'v', 1) end
else
  return redis.error_reply('outage.lua: unknown op ' .. tostring(a.op))
end
return 'OK'
