-- KEYS[1] agents by name, KEYS[2] last use. ARGV: name, time (ms). Records
-- a use only while the agent exists, so a revoke racing with it leaves
-- nothing behind.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
