-- KEYS[1] the channel's outbox queue, KEYS[2] the records hash.
-- ARGV: now_ms, lease_ms, max.
local now = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, mid in ipairs(ids) do
  local rec = redis.call('HGET', KEYS[2], mid)
  if rec then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), mid)
    out[#out + 1] = rec
  else
    redis.call('ZREM', KEYS[1], mid)
  end
end
return out
