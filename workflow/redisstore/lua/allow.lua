-- KEYS: one counter per cap. ARGV: window seconds, then each cap's limit.
-- Counts one message against every cap, or against none when any is full,
-- so a refused message costs no quota.
-- A limit of 0 or less disables that cap.
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i + 1])
  if limit > 0 and tonumber(redis.call('GET', key) or '0') >= limit then return 0 end
end
for i, key in ipairs(KEYS) do
  if tonumber(ARGV[i + 1]) > 0 and redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 1
