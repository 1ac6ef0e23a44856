-- KEYS[1] token hashes, KEYS[2] agents by name, KEYS[3] last use.
-- ARGV[1] a token's hash. Returns the agent's name, JSON and last use (ms,
-- or ''), or nil: one round trip for every authenticated request, and it
-- writes nothing (the caller records the use at most once a minute).
local name = redis.call('HGET', KEYS[1], ARGV[1])
if not name then return nil end
local doc = redis.call('HGET', KEYS[2], name)
if not doc then return nil end
return {name, doc, redis.call('HGET', KEYS[3], name) or ''}
