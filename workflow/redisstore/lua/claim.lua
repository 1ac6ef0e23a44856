-- KEYS[1] the channel's outbox queue. ARGV: shard (the hash-tagged prefix
-- of KEYS[1]), now_ms, lease_ms, max. Returns each claimed message's fields.
-- A claim counts as an attempt, so a message whose delivery crashes the
-- process still runs out of attempts. The message records are named by the
-- queue's members, read here: their keys are built from the shard's prefix,
-- so they share KEYS[1]'s slot.
local shard, now = ARGV[1], tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, mid in ipairs(ids) do
  local key = shard .. ':outbox:msg:' .. mid
  if redis.call('EXISTS', key) == 1 then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), mid)
    redis.call('HINCRBY', key, 'attempts', 1)
    out[#out + 1] = redis.call('HGETALL', key)
  else
    redis.call('ZREM', KEYS[1], mid)
  end
end
return out
