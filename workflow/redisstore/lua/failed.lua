-- KEYS[1] the channel's outbox queue, KEYS[2] the message hash, KEYS[3] the
-- channel's dead letters. ARGV: message id, reason, retry_ms, then '1' (dead),
-- '0' (retry) or 'wait' (the channel asked to wait: the claim's attempt is
-- given back, since waiting is not a failure).
if redis.call('EXISTS', KEYS[2]) == 0 or not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], 'last_error', ARGV[2])
if ARGV[4] == 'wait' then redis.call('HINCRBY', KEYS[2], 'attempts', -1) end
if ARGV[4] == '1' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
else
  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
end
return 1
