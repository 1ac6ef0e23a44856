-- KEYS[1] the message's claim hash (or a per-source key for duplicates),
-- KEYS[2] the channel's ledger stream. ARGV: ttl seconds, max ledger length,
-- then field, value pairs. The outcome is written once: a retry after a
-- crash between the effects and this call adds no second ledger entry.
if redis.call('HSETNX', KEYS[1], 'outcome', ARGV[4]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
return 1
