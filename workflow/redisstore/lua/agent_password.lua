-- KEYS[1] agents by name, KEYS[2] passwords. ARGV: name, PHC string. Sets
-- the password only while the agent exists, so that a revoke racing with
-- it never leaves a password behind. Returns 0 when there is no such agent.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
