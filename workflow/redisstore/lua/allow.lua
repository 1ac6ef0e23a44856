-- KEYS: one counter per cap. ARGV: window seconds, then each cap's limit.
-- Counts one message against every cap, or against none when any is full,
-- so a refused message costs no quota.
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then return 0 end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 1
