-- KEYS[1] the channel's outbox queue, KEYS[2] the records hash, KEYS[3] the
-- channel's dead letters. ARGV: message id, reason, retry_ms, dead ('1'/'0').
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw or not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local rec = cjson.decode(raw)
rec.attempts = (tonumber(rec.attempts) or 0) + 1
rec.last_error = ARGV[2]
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(rec))
if ARGV[4] == '1' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
else
  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
end
return 1
