-- KEYS[1] the shard's due set. ARGV: now_ms, lease_ms, max.
-- Returns id, claim score pairs. A claimed incident is hidden from other
-- bots until the lease ends, so each due incident is worked by one bot.
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], now + lease, id)
  out[#out + 1] = id
  out[#out + 1] = tostring(now + lease)
end
return out
