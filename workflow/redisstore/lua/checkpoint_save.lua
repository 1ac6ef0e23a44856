-- KEYS[1] a mailbox's lease, KEYS[2] its checkpoint. ARGV: owner,
-- uidvalidity, uid, at. Only while owner holds the lease, so that a bot that
-- lost it cannot move the checkpoint. Under the same UIDVALIDITY the UID only
-- grows; another UIDVALIDITY replaces the checkpoint.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local v = redis.call('HGET', KEYS[2], 'uidvalidity')
local u = tonumber(redis.call('HGET', KEYS[2], 'uid') or '0')
if v == ARGV[2] and u and u > tonumber(ARGV[3]) then
  return 1
end
redis.call('HSET', KEYS[2], 'uidvalidity', ARGV[2], 'uid', ARGV[3], 'at', ARGV[4])
return 1
