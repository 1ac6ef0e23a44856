-- KEYS[1] the channel's outbox queue. ARGV: shard, now_ms, lease_ms, max.
-- Returns each claimed message's fields.
local shard, now = ARGV[1], tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, mid in ipairs(ids) do
  local rec = redis.call('HGETALL', shard .. ':outbox:msg:' .. mid)
  if #rec > 0 then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), mid)
    out[#out + 1] = rec
  else
    redis.call('ZREM', KEYS[1], mid)
  end
end
return out
