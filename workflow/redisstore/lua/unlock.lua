-- KEYS[1] a lock. ARGV: the holder's token. Deletes the lock only while the
-- caller still holds it: a lock that ran out and was taken by another bot
-- stays that bot's.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
