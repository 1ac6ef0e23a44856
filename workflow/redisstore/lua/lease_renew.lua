-- KEYS[1] a mailbox's lease. ARGV: owner, ttl ms. Only the owner renews.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
