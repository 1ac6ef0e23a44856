-- KEYS[1] agents by name, KEYS[2] token hashes, KEYS[3] last use, KEYS[4]
-- passwords. ARGV: name, then either 'rotate', new agent JSON and new token
-- hash, or 'revoke'. Every token of the agent goes at once, so the old one
-- fails on every bot from the next request. Returns 0 when there is no
-- such agent. Scanning the token hashes costs one pass over the agents;
-- rotations are rare and agents few.
local name = ARGV[1]
if redis.call('HEXISTS', KEYS[1], name) == 0 then return 0 end
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if all[i + 1] == name then redis.call('HDEL', KEYS[2], all[i]) end
end
if ARGV[2] == 'rotate' then
  redis.call('HSET', KEYS[1], name, ARGV[3])
  redis.call('HSET', KEYS[2], ARGV[4], name)
else
  redis.call('HDEL', KEYS[1], name)
  redis.call('HDEL', KEYS[3], name)
  redis.call('HDEL', KEYS[4], name)
end
return 1
