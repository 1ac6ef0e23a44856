-- KEYS[1] the channel's outbox queue, KEYS[2] the message hash, KEYS[3] the
-- channel's dropped questions. ARGV: message id, reason, at_ms, keep (how
-- many dropped messages the shard's channel keeps for the listing), shard.
-- Only the holder of a live record drops it, once: a second call (another
-- bot whose lease ran out, a retry of this one) changes nothing.
if redis.call('EXISTS', KEYS[2]) == 0 or not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'drop_reason', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
-- The oldest beyond keep go for good: a dropped question is kept to be
-- seen, not to be sent.
local extra = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[4])
if extra > 0 then
  for _, mid in ipairs(redis.call('ZRANGE', KEYS[3], 0, extra - 1)) do
    redis.call('DEL', ARGV[5] .. ':outbox:msg:' .. mid)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, extra - 1)
end
return 1
