-- KEYS[1] agents by name, KEYS[2] token hashes. ARGV: name, agent JSON,
-- token hash. One script, so that an agent never exists without its token.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
return 1
