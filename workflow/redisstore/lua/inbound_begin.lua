-- KEYS[1] the message's claim hash. ARGV: source, at, ttl seconds.
-- Returns {} for a message seen for the first time, else the claim's
-- fields (source, outcome, incident, ...): the caller tells a redelivery of
-- the same source from a duplicate from elsewhere.
local prior = redis.call('HGETALL', KEYS[1])
if #prior > 0 then return prior end
redis.call('HSET', KEYS[1], 'source', ARGV[1], 'at', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {}
