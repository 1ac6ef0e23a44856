-- KEYS[1] agents by name, KEYS[2] token hashes, KEYS[3] last use, KEYS[4]
-- passwords. ARGV: name, agent JSON, token hash. One script, so that an
-- agent never exists without its token; a name used before (and revoked)
-- starts with no last use and no password.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
